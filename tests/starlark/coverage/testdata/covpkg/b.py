"""Analysis-test fixture module b."""
