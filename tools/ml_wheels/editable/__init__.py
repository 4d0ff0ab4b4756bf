"""PEP 660 editable wheels: a finder module mapping modules to workspace and bazel-bin files."""
