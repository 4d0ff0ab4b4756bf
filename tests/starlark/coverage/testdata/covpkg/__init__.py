"""Analysis-test fixture module __init__."""
