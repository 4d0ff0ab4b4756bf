"""Getting built distributions out of Bazel: `wheel_dist` (copy) and `wheel_publish` (twine)."""
