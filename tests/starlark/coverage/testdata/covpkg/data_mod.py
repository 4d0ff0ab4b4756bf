"""Analysis-test fixture module data_mod."""
