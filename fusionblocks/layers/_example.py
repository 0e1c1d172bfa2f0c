"""Conformance examples: a small constructed layer plus inputs, attached to every registered layer.

Every layer registered with kind ``"layer"`` passes ``example=<callable>`` to
[`register`][fusionblocks.registry.register]. The callable takes
the batch size and returns a [`LayerExample`][fusionblocks.layers._example.LayerExample];
``tests/layers/test_conformance.py`` runs the same checks
(shapes, finite gradients, batch size 1, bf16 autocast, eval determinism, batch-permutation equivariance) on every
registered layer through it:

    @register("layer", "mylab.block", example=lambda batch_size: LayerExample(
        module=MyBlock(8), args=(torch.randn(batch_size, 8, 8, 8),), output_shapes=((batch_size, 8, 8, 8),)))
    class MyBlock(nn.Module): ...

Shapes:
    Every tensor in ``args``/``kwargs`` has the batch on dim 0; ``output_shapes`` lists the shape of each
    tensor the forward returns, in order (a single tensor output is a one-element tuple).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["LayerExample", "ExampleFactory", "example_generator"]


@dataclass
class LayerExample:
    """A small layer with inputs for the conformance suite.

    Args:
        module: The constructed layer (small sizes: the suite runs on 2 CPU cores).
        args: Positional forward inputs; tensors have the batch on dim 0.
        kwargs: Keyword forward inputs (tensors with the batch on dim 0, or plain options).
        output_shapes: Expected shape of each returned tensor, in order.
        bf16_atol: Absolute tolerance (relative to the fp32 output's max magnitude) for bf16 autocast.

    Shapes:
        args/kwargs tensors: ``(B, ...)``; outputs: ``output_shapes``.
    """

    module: nn.Module
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    output_shapes: tuple[tuple[int, ...], ...] = ()
    bf16_atol: float = 5e-2


ExampleFactory = Callable[[int], LayerExample]


def example_generator(seed: int = 0) -> torch.Generator:
    """A CPU generator for reproducible example inputs."""
    return torch.Generator().manual_seed(seed)
