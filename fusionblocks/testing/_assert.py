"""Failures of the conformance checks."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["ConformanceError", "expect", "expect_close", "expect_finite"]


class ConformanceError(AssertionError):
    """A component breaks a contract of its kind; the message names the component, the check and what broke."""


def expect(condition: Any, message: str) -> None:
    """Raise [`ConformanceError`][fusionblocks.testing._assert.ConformanceError] with ``message`` unless
    ``condition``."""
    if not condition:
        raise ConformanceError(message)


def expect_finite(tensor: torch.Tensor | None, what: str) -> None:
    """``tensor`` exists and has no NaN or infinity."""
    if tensor is None:
        raise ConformanceError(f"{what} is missing")
    expect(bool(torch.isfinite(tensor).all()), f"{what} has NaN or infinite values")


def expect_close(
    actual: torch.Tensor, expected: torch.Tensor, what: str, atol: float = 1e-5, rtol: float = 1e-5
) -> None:
    """``actual`` equals ``expected`` in shape and, elementwise, within the tolerances."""
    shapes = f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    expect(tuple(actual.shape) == tuple(expected.shape), shapes)
    try:
        torch.testing.assert_close(actual, expected, atol=atol, rtol=rtol)
    except AssertionError as err:
        raise ConformanceError(f"{what}: {err}") from None
