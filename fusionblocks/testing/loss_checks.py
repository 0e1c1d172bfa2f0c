"""The checks every registered loss (kind ``"loss"``) passes: it returns a dataclass with a finite scalar ``loss``
(and its terms), gradients to the inputs that require them are finite and not all zero, and the value does not
depend on the global RNG."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch

from ._assert import expect, expect_finite
from .example import run

__all__ = ["LOSS_CHECKS"]

Factory = Callable[[int], Any]


def _leaves(example: Any) -> list[torch.Tensor]:
    found: list[torch.Tensor] = []

    def visit(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            if value.is_leaf and value.requires_grad:
                found.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                visit(v)

    for value in (*example.args, *example.kwargs.values()):
        visit(value)
    return found


def scalar_loss(factory: Factory, name: str) -> None:
    """The result is a dataclass whose ``loss`` is a finite 0-d tensor; tensor terms are finite."""
    out = run(factory(3))
    expect(dataclasses.is_dataclass(out), f"{name}: must return a dataclass (the loss and its terms)")
    loss = getattr(out, "loss", None)
    expect(isinstance(loss, torch.Tensor) and loss.ndim == 0, f"{name}: .loss must be a 0-d tensor")
    expect_finite(loss, f"{name}: loss")
    for field in dataclasses.fields(out):
        value = getattr(out, field.name)
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            expect_finite(value.detach(), f"{name}: term {field.name!r}")


def input_gradients(factory: Factory, name: str) -> None:
    """Inputs that require grad get finite gradients, and not all of them zero."""
    example = factory(3)
    leaves = _leaves(example)
    expect(leaves, f"{name}: the example must give at least one float input with requires_grad=True")
    run(example).loss.backward()
    grads = [t.grad for t in leaves if t.grad is not None]
    expect(grads, f"{name}: no input got a gradient")
    for g in grads:
        expect_finite(g, f"{name}: input gradient")
    expect(any(g.abs().sum() > 0 for g in grads), f"{name}: every input gradient is zero")


def determinism(factory: Factory, name: str) -> None:
    """The value does not depend on the global RNG."""
    example = factory(3)
    with torch.random.fork_rng(devices=[]):
        first = run(example).loss.detach()
        torch.manual_seed(999)
        second = run(example).loss.detach()
    expect(torch.equal(first, second), f"{name}: the loss differs between two calls on the same inputs")


LOSS_CHECKS: dict[str, Callable[[Factory, str], None]] = {
    "scalar_loss": scalar_loss,
    "input_gradients": input_gradients,
    "determinism": determinism,
}
