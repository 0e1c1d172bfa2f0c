"""The checks every registered layer passes (kind ``"layer"``): shapes, finite gradients for every parameter and float
input, batch size 1 (and batch-1 == first row of a batch in eval), bf16 autocast close to fp32, eval determinism,
batch-permutation equivariance."""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..registry import get
from ._assert import expect, expect_close, expect_finite
from .example import as_tuple, map_tensors, run

__all__ = ["LAYER_CHECKS"]

Factory = Callable[[int], Any]


def _outputs(example, args=None, kwargs=None) -> tuple[torch.Tensor, ...]:
    return as_tuple(run(example, args, kwargs))


def example_builds_the_component(factory: Factory, name: str) -> None:
    """The example's module is an instance of the registered class and lists its output shapes."""
    example = factory(2)
    target = get("layer", name)
    if isinstance(target, type):
        expect(isinstance(example.module, target), f"{name}: example module is a {type(example.module).__name__}, "
               f"not the registered {target.__name__}")
    expect(example.output_shapes, f"{name}: the example must list its output shapes")


def forward_shapes(factory: Factory, name: str) -> None:
    """Outputs have the declared shapes (batch first) and finite values."""
    example = factory(3)
    outputs = _outputs(example)
    expect(tuple(tuple(o.shape) for o in outputs) == tuple(example.output_shapes),
           f"{name}: output shapes {[tuple(o.shape) for o in outputs]} != declared {list(example.output_shapes)}")
    for out in outputs:
        expect(out.shape[0] == 3, f"{name}: outputs must keep the batch on dim 0")
        expect_finite(out, f"{name}: output")


def gradients(factory: Factory, name: str) -> None:
    """Every parameter and every float input gets a finite gradient; each float input a non-zero one."""
    example = factory(2)
    example.module.train()
    args, kwargs = map_tensors(
        example, lambda t: t.detach().clone().requires_grad_(True) if t.is_floating_point() else t
    )
    outputs = _outputs(example, args, kwargs)
    # random weights: plain sums of normalised outputs (softmax maps, BatchNorm) have zero gradient
    generator = torch.Generator().manual_seed(0)
    loss = torch.stack([(out * torch.randn(out.shape, generator=generator)).sum() for out in outputs]).sum()
    loss.backward()
    for pname, p in example.module.named_parameters():
        expect(p.grad is not None, f"{name}: parameter {pname} got no gradient")
        expect_finite(p.grad, f"{name}: gradient of {pname}")
    floats = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    expect(floats, f"{name}: the example has no float input")
    for i, t in enumerate(floats):
        grad = t.grad
        expect_finite(grad, f"{name}: gradient of float input {i}")
        expect(grad is not None and bool(grad.abs().sum() > 0), f"{name}: float input {i} has an all-zero gradient")


def batch_size_one(factory: Factory, name: str) -> None:
    """A batch of one works in training mode, and in eval mode equals the first row of a larger batch."""
    example = factory(1)
    example.module.train()
    outputs = _outputs(example)
    expect(tuple(tuple(o.shape) for o in outputs) == tuple(example.output_shapes), f"{name}: wrong shapes at batch 1")
    for out in outputs:
        expect_finite(out, f"{name}: output at batch 1")
    example = factory(3)
    example.module.eval()
    with torch.no_grad():
        full = _outputs(example)
        args, kwargs = map_tensors(example, lambda t: t[:1])
        single = _outputs(example, args, kwargs)
    for a, b in zip(single, full):
        expect_close(a, b[:1], f"{name}: batch of one vs first row of a batch (eval)")


def bf16_autocast(factory: Factory, name: str) -> None:
    """bf16 CPU autocast stays within ``bf16_atol`` (relative to the output scale) of fp32."""
    example = factory(2)
    example.module.eval()
    with torch.no_grad():
        reference = _outputs(example)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = _outputs(example)
    for ref, out in zip(reference, low):
        expect(out.shape == ref.shape, f"{name}: bf16 output shape differs")
        expect_finite(out, f"{name}: bf16 output")
        scale = max(1.0, ref.abs().max().item())
        err = (out.float() - ref).abs().max().item()
        expect(err <= example.bf16_atol * scale, f"{name}: bf16 error {err:.3g} > {example.bf16_atol * scale:.3g}")


def eval_determinism(factory: Factory, name: str) -> None:
    """In eval mode the output does not depend on the global RNG."""
    example = factory(2)
    example.module.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        first = _outputs(example)
        torch.manual_seed(1234)
        second = _outputs(example)
    for a, b in zip(first, second):
        expect(torch.equal(a, b), f"{name}: eval-mode outputs differ between calls")


def batch_permutation(factory: Factory, name: str) -> None:
    """Permuting the batch permutes the outputs (no mixing across samples), in eval mode."""
    example = factory(4)
    example.module.eval()
    perm = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        outputs = _outputs(example)
        args, kwargs = map_tensors(example, lambda t: t[perm])
        permuted = _outputs(example, args, kwargs)
    for out, perm_out in zip(outputs, permuted):
        expect_close(perm_out, out[perm], f"{name}: permuted batch")


LAYER_CHECKS: dict[str, Callable[[Factory, str], None]] = {
    "example_builds_the_component": example_builds_the_component,
    "forward_shapes": forward_shapes,
    "gradients": gradients,
    "batch_size_one": batch_size_one,
    "bf16_autocast": bf16_autocast,
    "eval_determinism": eval_determinism,
    "batch_permutation": batch_permutation,
}
