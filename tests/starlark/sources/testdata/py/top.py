"""Test fixture."""
