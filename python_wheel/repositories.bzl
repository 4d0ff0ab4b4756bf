"""WORKSPACE set-up of rules_ml_wheels.

```starlark
load("@rules_ml_wheels//python_wheel:repositories.bzl", "local_python_toolchain", "rules_ml_wheels_dependencies")

local_python_toolchain(name = "python")
rules_ml_wheels_dependencies()
```
"""

load("//python_wheel/private:dependencies.bzl", _rules_ml_wheels_dependencies = "rules_ml_wheels_dependencies")
load("//python_wheel/private:helper_deps.bzl", _helper_deps_repository = "helper_deps_repository")
load("//python_wheel/private:hermetic_python.bzl", _hermetic_python = "hermetic_python", _hermetic_python_repository = "hermetic_python_repository")
load("//python_wheel/private:python_toolchain.bzl", _local_python_toolchain = "local_python_toolchain")
load("//python_wheel/private:version_suffix.bzl", _python_wheel_version_suffix_repository = "python_wheel_version_suffix_repository")

helper_deps_repository = _helper_deps_repository
hermetic_python = _hermetic_python
hermetic_python_repository = _hermetic_python_repository
local_python_toolchain = _local_python_toolchain
python_wheel_version_suffix_repository = _python_wheel_version_suffix_repository
rules_ml_wheels_dependencies = _rules_ml_wheels_dependencies
