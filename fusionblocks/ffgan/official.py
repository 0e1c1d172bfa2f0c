"""Official FF-GAN checkpoints → this library's state dicts ([FF-GAN: parameter counts][ffgan-parameter-counts]).

The official generator (``G_NET``, DM-GAN-derived names) and discriminators (``D_NET64/128/256`` with DM-GAN's custom
spectral norm: ``weight_bar``/``weight_u``/``weight_v`` on ``*.module``) are mapped onto
[`StackedGenerator`][fusionblocks.models.stacked_generator.StackedGenerator] (``stage_fusion="ffgan.stage_fusion"``) and
[`StageDiscriminator`][fusionblocks.models.stage_discriminator.StageDiscriminator]. The DM-GAN memory modules that
FF-GAN builds but never uses
(``h_netN.A``, ``.B``, ``.M_r``, ``.M_w``, ``.key``, ``.value``, ``.response_gate``; 58,177 parameters per stage) are
dropped. AttnGAN generators (``h_netN.att.conv_context``) map onto ``stage_fusion="attngan.stage_fusion"``.

Key map (generator; N = 2, 3 → stage ``N − 2``):

| official | ours |
| --- | --- |
| ``ca_net.fc.{weight,bias}`` | ``ca.fc.*`` |
| ``h_net1.fc.0.weight`` / ``h_net1.fc.1.*`` | ``init_stage.fc.weight`` / ``init_stage.norm.*`` |
| ``h_net1.upsample{k}.1.weight`` / ``.2.*`` | ``init_stage.ups.{k-1}.conv.weight`` / ``.norm.*`` |
| ``h_netN.w_att.conv_context.weight`` (C, D, 1, 1) | ``stages.{N-2}.fusion.ffblock.attention.proj.weight`` (C, D) |
| ``h_netN.affine.{conv,conv_weight,conv_bias}.weight`` | ``stages.{N-2}.fusion.ffblock.affine.{hidden,gamma,beta}.*`` |
| ``h_netN.s_att.conv_context.weight`` (C, D, 1, 1) | ``stages.{N-2}.fusion.gsr.proj.weight`` (C, D) |
| ``h_netN.residual.{i}.block.{0,1,3,4}.*`` | ``stages.{N-2}.residual.{i}.{conv1,norm1,conv2,norm2}.*`` |
| ``h_netN.upsample.{1,2}.*`` | ``stages.{N-2}.upsample.{conv,norm}.*`` |
| ``img_net{k}.img.0.weight`` | ``heads.{k-1}.conv.weight`` |

Discriminator: ``img_code_s16.{i}.module.*`` → ``encoder.{i}.*``; ``img_code_s32`` / ``img_code_s64`` → ``down.0`` /
``down.1``; ``img_code_s32_1`` (D128) or ``img_code_s64_1``, ``img_code_s64_2`` (D256) → ``reduce.0``, ``reduce.1``;
``COND_DNET.jointConv.0.module.*`` → ``cond_head.joint.0.*``; ``{COND,UNCOND}_DNET.outlogits.0.*`` →
``{cond,uncond}_head.out.*``. Inside each SN conv: ``bias`` → ``bias``, ``weight_bar`` →
``parametrizations.weight.original``, and ``weight_u``/``weight_v`` → ``parametrizations.weight.0._u``/``_v``.

Spectral-norm vectors: the official layer runs one power iteration (``v ← Ŵᵀu/‖·‖, u ← Ŵv/‖·‖``) at the start of
**every** forward, then divides by ``σ = uᵀŴv``. With ``sn_power_iteration=True`` (default) that iteration is done
once at conversion time, so our eval-mode forward (which uses the stored ``u``, ``v`` without iterating) computes
exactly the weight of the official forward on the same checkpoint. Both layouts are ``u`` (out,) and ``v``
(in·k·k,).
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal, Mapping

import torch

from ..state_dict_io import read_state_dict

__all__ = [
    "load_official",
    "convert_official_generator",
    "convert_official_discriminator",
    "official_generator_config",
    "official_discriminator_image_size",
    "DEAD_GENERATOR_MODULES",
]

DEAD_GENERATOR_MODULES = ("A", "B", "M_r", "M_w", "key", "value", "response_gate", "memory_operation", "avg")

_BN_FIELDS = r"(weight|bias|running_mean|running_var|num_batches_tracked)"


def _read(path_or_state_dict: str | os.PathLike | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return read_state_dict(path_or_state_dict, "path_or_state_dict", wrappers=("state_dict", "netG", "model"))


# ------------------------------------------------------------------------------------------------ generator
_G_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"ca_net\.fc\.(weight|bias)"), r"ca.fc.\1"),
    (re.compile(r"h_net1\.fc\.0\.weight"), r"init_stage.fc.weight"),
    (re.compile(rf"h_net1\.fc\.1\.{_BN_FIELDS}"), r"init_stage.norm.\1"),
    (re.compile(r"h_net1\.upsample(\d+)\.1\.weight"), "init_stage.ups.{k1}.conv.weight"),
    (re.compile(rf"h_net1\.upsample(\d+)\.2\.{_BN_FIELDS}"), "init_stage.ups.{k1}.norm.{g2}"),
    (re.compile(r"h_net(\d+)\.w_att\.conv_context\.weight"), "stages.{k2}.fusion.ffblock.attention.proj.weight"),
    (re.compile(r"h_net(\d+)\.att\.conv_context\.weight"), "stages.{k2}.fusion.attention.proj.weight"),
    (re.compile(r"h_net(\d+)\.s_att\.conv_context\.weight"), "stages.{k2}.fusion.gsr.proj.weight"),
    (re.compile(r"h_net(\d+)\.affine\.conv\.weight"), "stages.{k2}.fusion.ffblock.affine.hidden.weight"),
    (re.compile(r"h_net(\d+)\.affine\.conv_weight\.weight"), "stages.{k2}.fusion.ffblock.affine.gamma.weight"),
    (re.compile(r"h_net(\d+)\.affine\.conv_bias\.weight"), "stages.{k2}.fusion.ffblock.affine.beta.weight"),
    (re.compile(r"h_net(\d+)\.residual\.(\d+)\.block\.0\.weight"), "stages.{k2}.residual.{g2}.conv1.weight"),
    (re.compile(rf"h_net(\d+)\.residual\.(\d+)\.block\.1\.{_BN_FIELDS}"), "stages.{k2}.residual.{g2}.norm1.{g3}"),
    (re.compile(r"h_net(\d+)\.residual\.(\d+)\.block\.3\.weight"), "stages.{k2}.residual.{g2}.conv2.weight"),
    (re.compile(rf"h_net(\d+)\.residual\.(\d+)\.block\.4\.{_BN_FIELDS}"), "stages.{k2}.residual.{g2}.norm2.{g3}"),
    (re.compile(r"h_net(\d+)\.upsample\.1\.weight"), "stages.{k2}.upsample.conv.weight"),
    (re.compile(rf"h_net(\d+)\.upsample\.2\.{_BN_FIELDS}"), "stages.{k2}.upsample.norm.{g2}"),
    (re.compile(r"img_net(\d+)\.img\.0\.weight"), "heads.{k1}.conv.weight"),
]
_DEAD = re.compile(rf"h_net(\d+)\.({'|'.join(DEAD_GENERATOR_MODULES)})\..*")
_SQUEEZE_1X1 = ("attention.proj.weight", "gsr.proj.weight")


def _apply_rules(key: str, rules: list[tuple[re.Pattern[str], str]]) -> str | None:
    for pattern, template in rules:
        match = pattern.fullmatch(key)
        if match is None:
            continue
        if "\\" in template:
            return match.expand(template)
        groups = match.groups()
        first = int(groups[0]) if groups and groups[0].isdigit() else 0
        return template.format(
            k1=first - 1, k2=first - 2, g2=groups[1] if len(groups) > 1 else "", g3=groups[2] if len(groups) > 2 else ""
        )
    return None


def convert_official_generator(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map an official FF-GAN (or AttnGAN) ``G_NET`` state dict onto
    [`StackedGenerator`][fusionblocks.models.stacked_generator.StackedGenerator] keys.

    The unused DM-GAN memory modules are dropped; the 1×1 conv word/sentence projections become Linear weights.

    Raises:
        ValueError: keys that are neither official generator keys nor dropped memory modules (listed).

    Shapes:
        ``h_netN.{w_att,s_att}.conv_context.weight`` ``(C, D, 1, 1)`` → ``(C, D)``; every other tensor unchanged.
    """
    out: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, value in state_dict.items():
        if _DEAD.fullmatch(key):
            continue
        new = _apply_rules(key, _G_RULES)
        if new is None:
            unknown.append(key)
            continue
        if new.endswith(_SQUEEZE_1X1):
            if value.ndim != 4 or value.shape[2:] != (1, 1):
                raise ValueError(
                    f"state_dict: {key} should be a 1x1 conv weight (C, D, 1, 1), got {tuple(value.shape)}"
                )
            value = value[:, :, 0, 0]
        out[new] = value
    if unknown:
        raise ValueError(f"state_dict: not an official FF-GAN/AttnGAN generator; unexpected keys {unknown[:8]}")
    return out


def official_generator_config(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Infer the [`StackedGenerator`][fusionblocks.models.stacked_generator.StackedGenerator] arguments of an official
    (or converted) generator state dict.

    Returns a dict of ``z_dim, sentence_dim, word_dim, ngf, cond_dim, num_stages, res_blocks, stage_fusion,
    stage_fusion_kwargs`` (``base_size`` is always 64 in the official models: four upsampling blocks).
    """
    state = _read(state_dict)
    if "ca_net.fc.weight" in state:
        state = convert_official_generator(state)
    ca = state["ca.fc.weight"]
    cond_dim, sentence_dim = ca.shape[0] // 4, ca.shape[1]
    in_dim = state["init_stage.fc.weight"].shape[1]
    ngf = state["heads.0.conv.weight"].shape[1]
    stages = sorted({int(k.split(".")[1]) for k in state if k.startswith("stages.")})
    res = sorted({int(k.split(".")[3]) for k in state if k.startswith("stages.0.residual.")})
    n_up = len({k.split(".")[2] for k in state if k.startswith("init_stage.ups.")})
    config: dict[str, Any] = {
        "z_dim": in_dim - cond_dim,
        "sentence_dim": sentence_dim,
        "ngf": ngf,
        "cond_dim": cond_dim,
        "base_size": 4 * 2**n_up,
        "num_stages": len(stages) + 1,
        "res_blocks": len(res),
    }
    if "stages.0.fusion.ffblock.attention.proj.weight" in state:
        config["word_dim"] = state["stages.0.fusion.ffblock.attention.proj.weight"].shape[1]
        config["stage_fusion"] = "ffgan.stage_fusion"
        config["stage_fusion_kwargs"] = {
            "hidden_channels": int(state["stages.0.fusion.ffblock.affine.hidden.weight"].shape[0])
        }
    elif "stages.0.fusion.attention.proj.weight" in state:
        config["word_dim"] = state["stages.0.fusion.attention.proj.weight"].shape[1]
        config["stage_fusion"] = "attngan.stage_fusion"
        config["stage_fusion_kwargs"] = {}
    else:
        config["word_dim"] = sentence_dim
    return config


# -------------------------------------------------------------------------------------------- discriminator
_SN_FIELDS = {
    "bias": "bias",
    "weight_bar": "parametrizations.weight.original",
    "weight_u": "parametrizations.weight.0._u",
    "weight_v": "parametrizations.weight.0._v",
}


def _l2normalize(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return v / (v.norm() + eps)


def official_discriminator_image_size(state_dict: Mapping[str, torch.Tensor]) -> int:
    """64, 128 or 256: which official ``D_NET`` a state dict belongs to."""
    keys = list(state_dict)
    if any(k.startswith("img_code_s64.") for k in keys):
        return 256
    if any(k.startswith("img_code_s32.") for k in keys):
        return 128
    return 64


def convert_official_discriminator(
    state_dict: Mapping[str, torch.Tensor], sn_power_iteration: bool = True
) -> dict[str, torch.Tensor]:
    """Map an official ``D_NET64/128/256`` state dict onto
    [`StageDiscriminator`][fusionblocks.models.stage_discriminator.StageDiscriminator] keys.

    Args:
        state_dict: The official discriminator state dict.
        sn_power_iteration: Run the official forward's power iteration once on ``u``/``v`` (see the module
            docstring), so that our eval-mode forward reproduces the official forward exactly.

    Raises:
        ValueError: unexpected keys (listed).

    Shapes:
        SN: ``weight_bar (O, I, k, k)`` → ``original``; ``weight_u (O,)`` → ``_u``; ``weight_v (I·k·k,)`` → ``_v``.
    """
    size = official_discriminator_image_size(state_dict)
    prefixes = {"img_code_s16": "encoder", "img_code_s32": "down.0", "img_code_s64": "down.1"}
    if size == 128:
        prefixes["img_code_s32_1"] = "reduce.0"
    else:
        prefixes["img_code_s64_1"] = "reduce.0"
        prefixes["img_code_s64_2"] = "reduce.1"
    sn_layer = re.compile(
        r"(img_code_s\d+(?:_\d)?|COND_DNET\.jointConv)\.(\d+)\.module\.(bias|weight_bar|weight_u|weight_v)"
    )
    logits = re.compile(r"(COND|UNCOND)_DNET\.outlogits\.0\.(weight|bias)")
    out: dict[str, torch.Tensor] = {}
    unknown: list[str] = []
    for key, value in state_dict.items():
        match = sn_layer.fullmatch(key)
        if match is not None:
            block, index, field_name = match.groups()
            if block == "COND_DNET.jointConv":
                base = f"cond_head.joint.{index}"
            elif block in prefixes:
                base = f"{prefixes[block]}.{index}"
            else:
                unknown.append(key)
                continue
            out[f"{base}.{_SN_FIELDS[field_name]}"] = value
            continue
        match = logits.fullmatch(key)
        if match is not None:
            head = "cond_head" if match.group(1) == "COND" else "uncond_head"
            out[f"{head}.out.{match.group(2)}"] = value
            continue
        unknown.append(key)
    if unknown:
        raise ValueError(f"state_dict: not an official FF-GAN discriminator; unexpected keys {unknown[:8]}")
    if sn_power_iteration:
        for key in [k for k in out if k.endswith("parametrizations.weight.original")]:
            base = key[: -len("original")]
            weight = out[key].flatten(1)
            u = out[base + "0._u"]
            v = _l2normalize(weight.t() @ u)
            out[base + "0._v"] = v
            out[base + "0._u"] = _l2normalize(weight @ v)
    return out


def load_official(
    path_or_state_dict: str | os.PathLike | Mapping[str, torch.Tensor],
    kind: Literal["auto", "generator", "discriminator"] = "auto",
    *,
    sn_power_iteration: bool = True,
) -> dict[str, torch.Tensor]:
    """Convert an official FF-GAN checkpoint (``netG_epoch_*.pth`` or ``netD{i}.pth``) into our state dict.

    Files are read with ``torch.load(weights_only=True)`` (or safetensors); ``module.`` prefixes are stripped.
    Load the result with ``load_state_dict(..., strict=True)`` into a generator built from the ``cub256`` /
    ``coco256`` preset (or [`official_generator_config`][fusionblocks.ffgan.official.official_generator_config]), or
    into
    ``StageDiscriminator(official_discriminator_image_size(sd), ndf=32, sentence_dim=256)``.

    Args:
        path_or_state_dict: A file path or an already loaded state dict.
        kind: ``"generator"``, ``"discriminator"`` or ``"auto"`` (from the key names).
        sn_power_iteration: See
            [`convert_official_discriminator`][fusionblocks.ffgan.official.convert_official_discriminator].

    Raises:
        ValueError: the checkpoint is neither kind, or ``kind`` disagrees with its keys.
    """
    state = _read(path_or_state_dict)
    is_g = any(k.startswith(("ca_net.", "h_net1.")) for k in state)
    is_d = any(k.startswith("img_code_s16.") for k in state)
    if kind == "auto":
        if is_g == is_d:
            raise ValueError("path_or_state_dict: cannot tell generator from discriminator; pass kind=")
        kind = "generator" if is_g else "discriminator"
    if kind == "generator":
        if not is_g:
            raise ValueError("kind: 'generator' given, but the state dict has no ca_net./h_net1. keys")
        return convert_official_generator(state)
    if kind == "discriminator":
        if not is_d:
            raise ValueError("kind: 'discriminator' given, but the state dict has no img_code_s16. keys")
        return convert_official_discriminator(state, sn_power_iteration=sn_power_iteration)
    raise ValueError(f"kind: expected 'auto', 'generator' or 'discriminator', got {kind!r}")
