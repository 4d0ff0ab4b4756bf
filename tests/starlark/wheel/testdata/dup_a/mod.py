"""Test fixture: same wheel path as dup_b/mod.py."""
