"""Copy the weights of the reference (official-layout) modules into the fusionblocks modules.

Used by the equivalence tests (``tests/benchmarks/``) and by ``benchmarks/run.py`` so that both implementations
compute on the same weights. The text and image encoders are mapped with the library's own official-checkpoint
converters (the reference uses the official parameter names).
"""

from __future__ import annotations

import re

import torch
from torch import nn

__all__ = [
    "converge_spectral_norm",
    "discriminator_state_from_reference",
    "generator_state_from_reference",
    "load_discriminator_from_reference",
    "load_generator_from_reference",
    "load_image_encoder_from_reference",
    "load_text_encoder_from_reference",
]

_BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(out: dict, dst: str, sd: dict, src: str) -> None:
    for suffix in _BN_SUFFIXES:
        out[f"{dst}.{suffix}"] = sd[f"{src}.{suffix}"]


def generator_state_from_reference(ref_state: dict[str, torch.Tensor], num_res: int) -> dict[str, torch.Tensor]:
    """Reference ``G_NET`` state dict → ``fusionblocks.models.StackedGenerator`` (ffgan stage fusion) state dict.

    Shapes:
        1×1 conv weights ``(C, D, 1, 1)`` become Linear weights ``(C, D)``; everything else keeps its shape.
    """
    sd = ref_state
    out: dict[str, torch.Tensor] = {
        "ca.fc.weight": sd["ca_net.fc.weight"],
        "ca.fc.bias": sd["ca_net.fc.bias"],
        "init_stage.fc.weight": sd["h_net1.fc.0.weight"],
    }
    _bn(out, "init_stage.norm", sd, "h_net1.fc.1")
    for k in range(4):
        out[f"init_stage.ups.{k}.conv.weight"] = sd[f"h_net1.upsample{k + 1}.1.weight"]
        _bn(out, f"init_stage.ups.{k}.norm", sd, f"h_net1.upsample{k + 1}.2")
    for s in range(2):
        src, dst = f"h_net{s + 2}", f"stages.{s}"
        fus = f"{dst}.fusion"
        out[f"{fus}.ffblock.attention.proj.weight"] = sd[f"{src}.att.conv_context.weight"].flatten(1)
        out[f"{fus}.ffblock.affine.hidden.weight"] = sd[f"{src}.acm.conv.weight"]
        out[f"{fus}.ffblock.affine.gamma.weight"] = sd[f"{src}.acm.conv_weight.weight"]
        out[f"{fus}.ffblock.affine.beta.weight"] = sd[f"{src}.acm.conv_bias.weight"]
        out[f"{fus}.gsr.proj.weight"] = sd[f"{src}.satt.conv_sentence.weight"].flatten(1)
        for r in range(num_res):
            out[f"{dst}.residual.{r}.conv1.weight"] = sd[f"{src}.residual.{r}.block.0.weight"]
            _bn(out, f"{dst}.residual.{r}.norm1", sd, f"{src}.residual.{r}.block.1")
            out[f"{dst}.residual.{r}.conv2.weight"] = sd[f"{src}.residual.{r}.block.3.weight"]
            _bn(out, f"{dst}.residual.{r}.norm2", sd, f"{src}.residual.{r}.block.4")
        out[f"{dst}.upsample.conv.weight"] = sd[f"{src}.upsample.1.weight"]
        _bn(out, f"{dst}.upsample.norm", sd, f"{src}.upsample.2")
    for i in range(3):
        out[f"heads.{i}.conv.weight"] = sd[f"img_net{i + 1}.img.0.weight"]
    return {k: v.detach().clone() for k, v in out.items()}


def _sn_conv(out: dict, dst: str, sd: dict, src: str) -> None:
    out[f"{dst}.parametrizations.weight.original"] = sd[f"{src}.module.weight_bar"]
    out[f"{dst}.parametrizations.weight.0._u"] = sd[f"{src}.module.weight_u"]
    out[f"{dst}.parametrizations.weight.0._v"] = sd[f"{src}.module.weight_v"]
    out[f"{dst}.bias"] = sd[f"{src}.module.bias"]


def discriminator_state_from_reference(ref_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Reference ``D_NET64/128/256`` state dict → ``fusionblocks.models.StageDiscriminator`` state dict.

    The custom SN's ``weight_bar/_u/_v`` become ``parametrizations.weight.original/0._u/0._v``.

    Shapes:
        Unchanged.
    """
    sd = ref_state
    out: dict[str, torch.Tensor] = {}
    for k in (0, 2, 4, 6):
        _sn_conv(out, f"encoder.{k}", sd, f"img_code_s16.{k}")
    downs = [n for n in ("img_code_s32", "img_code_s64") if f"{n}.0.module.bias" in sd]
    for i, name in enumerate(downs):
        _sn_conv(out, f"down.{i}.0", sd, f"{name}.0")
    reduces = [n for n in ("img_code_s32_1", "img_code_s64_1", "img_code_s64_2") if f"{n}.0.module.bias" in sd]
    for i, name in enumerate(reduces):
        _sn_conv(out, f"reduce.{i}.0", sd, f"{name}.0")
    _sn_conv(out, "cond_head.joint.0", sd, "COND_DNET.jointConv.0")
    for head, src in (("cond_head.out", "COND_DNET.outlogits.0"), ("uncond_head.out", "UNCOND_DNET.outlogits.0")):
        out[f"{head}.weight"] = sd[f"{src}.weight"]
        out[f"{head}.bias"] = sd[f"{src}.bias"]
    return {k: v.detach().clone() for k, v in out.items()}


@torch.no_grad()
def converge_spectral_norm(ref_module: nn.Module) -> int:
    """Set ``u``/``v`` of every reference :class:`SpectralNorm` to the exact top singular pair of its weight.

    The official power iteration updates ``v`` then ``u``; ``torch.nn.utils.parametrizations.spectral_norm``
    updates ``u`` then ``v``. From arbitrary vectors the two orders give slightly different σ after one step; from
    converged vectors both give the largest singular value, so equivalence tests start there. Returns the count.

    Shapes:
        Not applicable.
    """
    from .reference.spectral import SpectralNorm

    count = 0
    for sub in ref_module.modules():
        if isinstance(sub, SpectralNorm):
            w = getattr(sub.module, sub.name + "_bar")
            mat = w.detach().double().reshape(w.shape[0], -1)
            u_all, _, vh = torch.linalg.svd(mat, full_matrices=False)
            getattr(sub.module, sub.name + "_u").copy_(u_all[:, 0].to(w.dtype))
            getattr(sub.module, sub.name + "_v").copy_(vh[0].to(w.dtype))
            count += 1
    return count


def load_generator_from_reference(lib_generator: nn.Module, ref_generator: nn.Module) -> None:
    """Load the reference generator's weights (and BN statistics) into a fusionblocks ``StackedGenerator``."""
    num_res = len(ref_generator.h_net2.residual)
    lib_generator.load_state_dict(generator_state_from_reference(ref_generator.state_dict(), num_res), strict=True)


def load_discriminator_from_reference(lib_disc: nn.Module, ref_disc: nn.Module) -> None:
    """Load a reference discriminator's weights (and SN vectors) into a fusionblocks ``StageDiscriminator``."""
    lib_disc.load_state_dict(discriminator_state_from_reference(ref_disc.state_dict()), strict=True)


def load_text_encoder_from_reference(lib_encoder: nn.Module, ref_encoder: nn.Module) -> None:
    """Load the reference ``RNN_ENCODER`` (official names) through ``convert_damsm_text_state_dict``."""
    from fusionblocks.text.damsm_convert import convert_damsm_text_state_dict

    lib_encoder.load_state_dict(convert_damsm_text_state_dict(ref_encoder.state_dict()), strict=True)


def load_image_encoder_from_reference(lib_encoder: nn.Module, ref_encoder: nn.Module) -> None:
    """Load the reference ``CNN_ENCODER`` (official names) through ``convert_damsm_image_state_dict``."""
    from fusionblocks.image.damsm_convert import convert_damsm_image_state_dict

    state = convert_damsm_image_state_dict(ref_encoder.state_dict())
    own = lib_encoder.state_dict()
    state = {k: v for k, v in state.items() if k in own or not re.search(r"num_batches_tracked$", k)}
    lib_encoder.load_state_dict(state, strict=False)
