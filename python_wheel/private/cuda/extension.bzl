"""bzlmod helpers for the CUDA toolkit hub: a tag class and its handler.

The `ml_wheels` module extension (python_wheel/private/extensions.bzl) adds
them as its `cuda_toolkit` tag, with the same attributes as the WORKSPACE
macro:

```starlark
ml_wheels = use_extension("@rules_ml_wheels//python_wheel:extensions.bzl", "ml_wheels")
ml_wheels.cuda_toolkit(name = "cuda")
use_repo(ml_wheels, "cuda")
```

Wiring (in the extension): `tag_classes = {..., "cuda_toolkit": CUDA_TOOLKIT_TAG}`
and, in its implementation, `declare_cuda_toolkits(module_ctx)`.
"""

load(":toolkit.bzl", "CUDA_TOOLKIT_ATTRS", "cuda_toolkit_repository")

CUDA_TOOLKIT_TAG = tag_class(
    doc = "A CUDA toolkit hub chosen per build by HERMETIC_CUDA_VERSION / LOCAL_CUDA_PATH (see docs/cuda.md).",
    attrs = dict(
        CUDA_TOOLKIT_ATTRS,
        name = attr.string(
            default = "cuda",
            doc = "The hub repository's name.",
        ),
    ),
)

def declare_cuda_toolkits(module_ctx):
    """Declares one hub per distinct `cuda_toolkit` tag name.

    The root module's tag wins over a dependency's of the same name, the
    way a WORKSPACE declaration made first wins.

    Args:
      module_ctx: the extension's module_ctx.

    Returns:
      The names of the declared hubs.
    """
    chosen = {}
    for module in module_ctx.modules:
        for tag in module.tags.cuda_toolkit:
            if tag.name in chosen and not module.is_root:
                continue
            if tag.name in chosen and chosen[tag.name][0]:
                fail("ml_wheels.cuda_toolkit(name = %r) is declared twice in the root module; keep one" % tag.name)
            chosen[tag.name] = (module.is_root, tag)
    for name, (_, tag) in chosen.items():
        cuda_toolkit_repository(
            name = name,
            components = tag.components,
            default_capabilities = tag.default_capabilities,
            wheels_url = tag.wheels_url,
        )
    return sorted(chosen.keys())
