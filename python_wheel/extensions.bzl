"""bzlmod set-up of rules_ml_wheels: the `ml_wheels` module extension.

```starlark
ml_wheels = use_extension("@rules_ml_wheels//python_wheel:extensions.bzl", "ml_wheels")
ml_wheels.local_python(name = "python")
ml_wheels.version_suffix(name = "wheel_version_suffix")
use_repo(ml_wheels, "python", "wheel_version_suffix")

register_toolchains("@python//:all")
```
"""

load("//python_wheel/private:extensions.bzl", _ml_wheels = "ml_wheels")

ml_wheels = _ml_wheels
