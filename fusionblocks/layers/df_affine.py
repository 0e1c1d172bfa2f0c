"""DF-GAN's sentence-conditioned channel affine, identity at initialisation ([DF-GAN][ffgan-dfgan])."""

from __future__ import annotations

import torch
from torch import nn

from .._checks import Like, check_image_features, check_positive_int, check_same_batch, check_tensor
from ..registry import register
from ._example import LayerExample, example_generator

__all__ = ["DFAffine"]


def _example(batch_size: int) -> LayerExample:
    g = example_generator(5)
    module = DFAffine(8, 12, hidden_dim=10)
    with torch.no_grad():  # move off the identity init so that the example exercises every parameter
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=g))
    return LayerExample(
        module=module,
        args=(torch.randn(batch_size, 8, 6, 6, generator=g), torch.randn(batch_size, 12, generator=g)),
        output_shapes=((batch_size, 8, 6, 6),),
    )


def _mlp(cond_dim: int, hidden_dim: int, channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cond_dim, hidden_dim), nn.ReLU(inplace=False), nn.Linear(hidden_dim, channels))


def check_cond(cond: object, name: str, dim: int, *, like: Like = None) -> torch.Tensor:
    """``cond`` must be a floating ``(B, dim)`` tensor (on the device and of the dtype of ``like`` when given).

    Shapes:
        cond: ``(B, dim)``.
    """
    cond = check_tensor(cond, name, ndim=2, like=like)
    if cond.shape[1] != dim:
        raise ValueError(f"{name}: expected a condition vector (B, {dim}), got shape {tuple(cond.shape)}")
    return cond


@register("layer", "dfgan.affine", example=_example, paper="DF-GAN (CVPR 2022)")
class DFAffine(nn.Module):
    """Per-channel scale and shift predicted from a condition vector: ``out = γ(y) ⊙ x + β(y)``.

    DF-GAN's "Affine" ([DF-GAN][ffgan-dfgan]): ``γ(y) = Linear(h→C)(ReLU(Linear(cond→h)(y)))`` and a separate
    ``β`` MLP of the same shape, broadcast over H×W. The second Linear of ``γ`` starts at weight 0, bias 1 and that of
    ``β`` at weight 0, bias 0, so the layer is the identity at initialisation.

    Args:
        channels: Feature channels C.
        cond_dim: Width of the condition vector y (DF-GAN: noise + sentence, 100 + 256).
        hidden_dim: Hidden width of the MLPs (default ``channels``, as in DF-GAN).

    Shapes:
        - x: ``(B, C, H, W)``; cond: ``(B, cond_dim)``.
        - output: ``(B, C, H, W)``.
    """

    def __init__(self, channels: int, cond_dim: int, hidden_dim: int | None = None) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.cond_dim = check_positive_int(cond_dim, "cond_dim")
        self.hidden_dim = check_positive_int(channels if hidden_dim is None else hidden_dim, "hidden_dim")
        self.gamma = _mlp(self.cond_dim, self.hidden_dim, self.channels)
        self.beta = _mlp(self.cond_dim, self.hidden_dim, self.channels)
        self.reset_identity()

    def reset_identity(self) -> None:
        """Make the layer the identity again (γ ≡ 1, β ≡ 0) by resetting the second Linear of each MLP."""
        gamma_out, beta_out = self.gamma[2], self.beta[2]
        assert isinstance(gamma_out, nn.Linear) and isinstance(beta_out, nn.Linear)
        with torch.no_grad():
            gamma_out.weight.zero_()
            gamma_out.bias.fill_(1.0)
            beta_out.weight.zero_()
            beta_out.bias.zero_()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Scale and shift each channel of ``x`` by functions of ``cond``; see the class docstring."""
        x = check_image_features(x, "x", self.channels, like=self)
        cond = check_cond(cond, "cond", self.cond_dim, like=self)
        check_same_batch(x=x, cond=cond)
        return self.gamma(cond)[:, :, None, None] * x + self.beta(cond)[:, :, None, None]

    def extra_repr(self) -> str:
        return f"channels={self.channels}, cond_dim={self.cond_dim}, hidden_dim={self.hidden_dim}"
