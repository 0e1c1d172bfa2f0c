"""Conformance examples: a small component plus inputs, one per registered component.

A component is registered with ``example=`` (a callable ``example(batch_size) -> ComponentExample``, or its
``"module:function"`` path); the built-in non-layer components have theirs in
[`builtin_examples`][fusionblocks.testing.builtin_examples], and
[`example_factory`][fusionblocks.testing.lookup.example_factory] finds the one of a registered name. Layers keep
using [`LayerExample`][fusionblocks.layers._example.LayerExample], which has the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["ComponentExample", "ExampleFactory", "MissingExampleError"]


@dataclass
class ComponentExample:
    """A small component with inputs for the conformance checks.

    Args:
        module: The constructed component (small sizes: the checks run on a CPU).
        args: Positional forward inputs; tensors have the batch on dim 0.
        kwargs: Keyword forward inputs (tensors with the batch on dim 0, or plain options).
        output_shapes: Expected shape of each returned tensor, where the kind's checks compare shapes.
        bf16_atol: Absolute tolerance (relative to the fp32 output's max magnitude) for bf16 autocast.

    Shapes:
        args/kwargs tensors: ``(B, ...)``.
    """

    module: Any
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    output_shapes: tuple[tuple[int, ...], ...] = ()
    bf16_atol: float = 5e-2


ExampleFactory = Callable[[int], Any]


class MissingExampleError(LookupError):
    """A registered component has no conformance example (``register(..., example=...)``)."""


def as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    """A forward's result as a tuple of tensors."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def map_tensors(example: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> tuple[tuple, dict]:
    """Apply ``fn`` to every tensor input of ``example`` (also inside lists/tuples); returns ``(args, kwargs)``."""

    def apply(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return fn(value)
        if isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
            return type(value)(apply(v) for v in value)
        return value

    return tuple(apply(a) for a in example.args), {k: apply(v) for k, v in example.kwargs.items()}


def run(example: Any, args: tuple | None = None, kwargs: dict | None = None) -> Any:
    """Call ``example.module`` on the example inputs (or the given ones)."""
    module: nn.Module = example.module
    return module(*(example.args if args is None else args), **(example.kwargs if kwargs is None else kwargs))
