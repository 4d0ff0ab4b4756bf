"""Test fixture: same wheel path as dup_a/mod.py."""
