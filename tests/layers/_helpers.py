"""Small helpers shared by the layer tests."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import torch

from fusionblocks.layers import LayerExample
from fusionblocks.registry import get, get_registry


def as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    """A forward's result as a tuple of tensors."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def load_example(name: str, batch_size: int = 2) -> LayerExample:
    """The registered conformance example of layer ``name``; fails for a built-in layer without one."""
    factory: Callable[[int], LayerExample] | None = get_registry("layer").metadata(name).get("example")
    if factory is None:
        module = getattr(get("layer", name), "__module__", "") or ""
        if module.startswith("fusionblocks."):
            pytest.fail(f"built-in layer {name!r} is registered without a conformance example (example=...)")
        pytest.skip(f"third-party layer {name!r} has no conformance example")
    example = factory(batch_size)
    assert isinstance(example, LayerExample), f"{name}: example must return a LayerExample"
    return example


def map_tensors(example: LayerExample, fn: Callable[[torch.Tensor], torch.Tensor]) -> tuple[tuple, dict]:
    """Apply ``fn`` to every tensor input of ``example``; returns (args, kwargs)."""
    args = tuple(fn(a) if isinstance(a, torch.Tensor) else a for a in example.args)
    kwargs = {k: fn(v) if isinstance(v, torch.Tensor) else v for k, v in example.kwargs.items()}
    return args, kwargs


def run(example: LayerExample, args: tuple | None = None, kwargs: dict | None = None) -> tuple[torch.Tensor, ...]:
    """Forward ``example.module`` on the example inputs (or the given ones)."""
    args = example.args if args is None else args
    kwargs = example.kwargs if kwargs is None else kwargs
    return as_tuple(example.module(*args, **kwargs))


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
