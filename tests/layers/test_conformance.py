"""The same checks for every layer in the registry (a new block cannot land untested).

Each registered layer provides ``example=`` at registration (``fusionblocks.layers.LayerExample``); a built-in layer
without one fails here.
"""

from __future__ import annotations

import pytest
import torch

from fusionblocks.registry import get, list_components

from ._helpers import load_example, map_tensors, run

LAYERS = list_components("layer")

BUILTIN_LAYERS = {
    "attngan.word_attention",
    "ffgan.acm",
    "ffgan.ffblock",
    "ffgan.gsr",
    "ffgan.ca",
    "dfgan.affine",
    "dfgan.dfblock",
    "common.glu",
    "common.up_block",
    "common.res_block",
    "common.image_head",
}


def test_every_builtin_layer_is_registered() -> None:
    missing = BUILTIN_LAYERS - set(LAYERS)
    assert not missing, f"not registered: {sorted(missing)}"


@pytest.mark.parametrize("name", LAYERS)
def test_example_builds_the_registered_component(name: str) -> None:
    example = load_example(name)
    target = get("layer", name)
    if isinstance(target, type):
        assert isinstance(example.module, target)
    assert example.output_shapes, f"{name}: the example must list its output shapes"


@pytest.mark.parametrize("name", LAYERS)
def test_forward_shapes(name: str) -> None:
    example = load_example(name, batch_size=3)
    outputs = run(example)
    assert tuple(tuple(o.shape) for o in outputs) == tuple(example.output_shapes)
    for out in outputs:
        assert out.shape[0] == 3
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", LAYERS)
def test_gradients_are_finite_for_every_parameter_and_float_input(name: str) -> None:
    example = load_example(name)
    example.module.train()
    args, kwargs = map_tensors(
        example, lambda t: t.detach().clone().requires_grad_(True) if t.is_floating_point() else t
    )
    outputs = run(example, args, kwargs)
    # random weights: plain sums of normalised outputs (softmax maps, BatchNorm) have zero gradient
    loss = sum((out * torch.randn_like(out)).sum() for out in outputs)
    loss.backward()
    for pname, p in example.module.named_parameters():
        assert p.grad is not None, f"{name}: parameter {pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"
    float_inputs = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor) and t.is_floating_point()]
    assert float_inputs
    for i, t in enumerate(float_inputs):
        assert t.grad is not None, f"{name}: float input {i} got no gradient"
        assert torch.isfinite(t.grad).all(), f"{name}: non-finite gradient for float input {i}"
        assert t.grad.abs().sum() > 0, f"{name}: float input {i} has an all-zero gradient"


@pytest.mark.parametrize("name", LAYERS)
def test_batch_size_one(name: str) -> None:
    example = load_example(name, batch_size=1)
    example.module.train()
    outputs = run(example)
    assert tuple(tuple(o.shape) for o in outputs) == tuple(example.output_shapes)
    assert all(torch.isfinite(o).all() for o in outputs)

    # in eval mode a batch of one equals the first row of a larger batch
    example = load_example(name, batch_size=3)
    example.module.eval()
    with torch.no_grad():
        full = run(example)
        args, kwargs = map_tensors(example, lambda t: t[:1])
        single = run(example, args, kwargs)
    for a, b in zip(single, full):
        torch.testing.assert_close(a, b[:1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", LAYERS)
def test_bf16_autocast_close_to_fp32(name: str) -> None:
    example = load_example(name)
    example.module.eval()
    with torch.no_grad():
        reference = run(example)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = run(example)
    for ref, out in zip(reference, low):
        assert out.shape == ref.shape
        assert torch.isfinite(out).all()
        scale = max(1.0, ref.abs().max().item())
        err = (out.float() - ref).abs().max().item()
        assert err <= example.bf16_atol * scale, f"{name}: bf16 error {err:.3g} > {example.bf16_atol * scale:.3g}"


@pytest.mark.parametrize("name", LAYERS)
def test_eval_mode_is_deterministic(name: str) -> None:
    example = load_example(name)
    example.module.eval()
    with torch.no_grad():
        first = run(example)
        torch.manual_seed(1234)  # a different global RNG state must not matter in eval mode
        second = run(example)
    for a, b in zip(first, second):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", LAYERS)
def test_batch_permutation_equivariance(name: str) -> None:
    example = load_example(name, batch_size=4)
    example.module.eval()
    perm = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        outputs = run(example)
        args, kwargs = map_tensors(example, lambda t: t[perm])
        permuted = run(example, args, kwargs)
    for out, perm_out in zip(outputs, permuted):
        torch.testing.assert_close(perm_out, out[perm], atol=1e-5, rtol=1e-5)


def test_builtin_layer_without_example_fails_the_suite() -> None:
    from torch import nn

    from fusionblocks.registry import get_registry

    class Undocumented(nn.Module):
        pass

    Undocumented.__module__ = "fusionblocks.layers.undocumented"
    registry = get_registry("layer")
    registry.register("test.undocumented_builtin", Undocumented)
    try:
        with pytest.raises(pytest.fail.Exception, match="without a conformance example"):
            load_example("test.undocumented_builtin")
    finally:
        registry.unregister("test.undocumented_builtin")
