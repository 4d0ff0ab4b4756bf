"""Analysis-test fixture module a."""
