"""The fused nearest-upsample + 3x3 conv equals the literal interpolate-then-convolve form."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.layers import UpBlock
from fusionblocks.layers.upsample_conv import upsample_nearest_conv3x3


@given(
    batch=st.integers(1, 3),
    cin=st.integers(1, 5),
    cout=st.integers(1, 5),
    height=st.integers(1, 7),
    width=st.integers(1, 7),
    with_bias=st.booleans(),
    channels_last=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_equals_interpolate_then_conv(batch, cin, cout, height, width, with_bias, channels_last, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, cin, height, width, generator=g, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    weight = torch.randn(cout, cin, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(cout, generator=g, dtype=torch.float64, requires_grad=True) if with_bias else None
    fast = upsample_nearest_conv3x3(x, weight, bias)
    slow = F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), weight, bias, padding=1)
    assert fast.shape == (batch, cout, 2 * height, 2 * width)
    if channels_last and cin > 1 and height * width > 1:  # otherwise x is contiguous in both layouts
        assert fast.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fast, slow, atol=1e-10, rtol=0)
    upstream = torch.randn(slow.shape, generator=g, dtype=torch.float64)
    inputs = [x, weight] + ([bias] if with_bias else [])
    for a, b in zip(torch.autograd.grad(fast, inputs, upstream), torch.autograd.grad(slow, inputs, upstream)):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_upblock_fused_and_literal_paths_agree():
    block = UpBlock(6, 4).eval()
    literal = UpBlock(6, 4, fused_upsample=False).eval()
    literal.load_state_dict(block.state_dict())
    x = torch.randn(2, 6, 5, 5)
    torch.testing.assert_close(block(x), literal(x), atol=1e-5, rtol=1e-5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        torch.testing.assert_close(block(x).float(), literal(x).float(), atol=5e-2, rtol=5e-2)


def test_bad_kernel_is_named():
    with pytest.raises(ValueError, match="weight"):
        upsample_nearest_conv3x3(torch.randn(1, 2, 4, 4), torch.randn(3, 2, 5, 5))
    with pytest.raises(ValueError, match="x"):
        upsample_nearest_conv3x3(torch.randn(1, 3, 4, 4), torch.randn(3, 2, 3, 3))


@pytest.mark.parametrize("channels_last", [False, True])
def test_phase_interleave_backward_is_its_adjoint(channels_last):
    from fusionblocks.layers.upsample_conv import _InterleavePhases

    phased = torch.randn(2, 4, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: _InterleavePhases.apply(p, channels_last), (phased,))
    # every element of phased that no output pixel reads (one row and one column per phase) gets a zero gradient
    out = _InterleavePhases.apply(phased, channels_last)
    (grad,) = torch.autograd.grad(out, phased, torch.ones_like(out))
    assert grad.sum().item() == out.numel()
    assert ((grad == 0) | (grad == 1)).all()


@pytest.mark.parametrize("channels_last", [False, True])
def test_upblock_compiles_as_one_graph_with_the_same_values_and_gradients(channels_last):
    torch._dynamo.reset()
    block = UpBlock(6, 4)
    x = torch.randn(2, 6, 5, 7)
    if channels_last:
        block, x = block.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    compiled = torch.compile(block, backend="aot_eager", fullgraph=True)  # fullgraph: a graph break fails
    inputs = [x, block.conv.weight]
    eager_out = block(x)  # training mode: batch statistics, so both calls compute the same function
    upstream = torch.randn_like(eager_out)
    eager_grads = torch.autograd.grad(eager_out, inputs, upstream)
    compiled_out = compiled(x)
    torch.testing.assert_close(compiled_out, eager_out)
    for a, b in zip(torch.autograd.grad(compiled_out, inputs, upstream), eager_grads):
        torch.testing.assert_close(a, b)
