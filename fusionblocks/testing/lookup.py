"""Where the conformance example of a registered component comes from: its ``register(..., example=)``
metadata, else the built-ins' table in [`builtin_examples`][fusionblocks.testing.builtin_examples] (presets: the
preset shrunk by ``smoke_overrides``)."""

from __future__ import annotations

import importlib
from typing import Any, Callable

from ..registry import get, get_registry
from .builtin_examples import BUILTIN_EXAMPLES, preset_example
from .example import MissingExampleError

__all__ = ["example_factory", "is_builtin"]


def is_builtin(kind: str, name: str) -> bool:
    """Whether ``name`` comes from a ``fusionblocks.*`` module (built-ins must have an example)."""
    module = getattr(get(kind, name), "__module__", "") or ""
    return module.startswith("fusionblocks.")


def _resolve(reference: Any) -> Callable[[int], Any]:
    if callable(reference):
        return reference
    if isinstance(reference, str) and ":" in reference:
        module, _, attr = reference.partition(":")
        return getattr(importlib.import_module(module), attr)
    raise TypeError(f"example: expected a callable or a 'module:function' path, got {reference!r}")


def example_factory(kind: str, name: str) -> Callable[[int], Any]:
    """The conformance example factory of a registered component: its ``example=`` metadata, else the built-in
    table of [`builtin_examples`][fusionblocks.testing.builtin_examples].

    Raises:
        MissingExampleError: none is known (register the component with ``example=``).
        KeyError: ``name`` is not registered as ``kind``.
    """
    meta = get_registry(kind).metadata(name)
    if meta.get("example") is not None:
        return _resolve(meta["example"])
    if (kind, name) in BUILTIN_EXAMPLES:
        return BUILTIN_EXAMPLES[(kind, name)]
    if kind == "model" and meta.get("config") is not None:  # every preset: shrunk by smoke_overrides
        return preset_example(name)
    raise MissingExampleError(
        f"{kind} {name!r} is registered without a conformance example; register it with "
        f"example=<callable batch_size -> ComponentExample> (see fusionblocks.testing)"
    )
