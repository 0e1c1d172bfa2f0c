"""Config fields carry element types and ranges; every error names the dotted key. Older keys still load."""

from __future__ import annotations

import pytest

from fusionblocks.ffgan import ConfigError, FFGANConfig, TrainConfig


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("train.lr_g", 0.0, "train.lr_g: expected a value > 0"),
        ("train.lr_d", -1e-4, "train.lr_d: expected a value > 0"),
        ("train.lr_g", float("inf"), "train.lr_g: expected a finite number"),
        ("train.lr_d", float("nan"), "train.lr_d: expected a finite number"),
        ("train.betas", [0.5], "train.betas: expected 2 values"),
        ("train.betas", [0.5, 0.9, 0.1], "train.betas: expected 2 values"),
        ("train.betas", [0.5, 1.0], "train.betas[1]: expected a value in [0, 1)"),
        ("train.betas", [-0.1, 0.9], "train.betas[0]: expected a value in [0, 1)"),
        ("train.betas", ["fast", 0.9], "train.betas[0]: expected a number"),
        ("train.ema_decay", 1.0, "train.ema_decay: expected a value in [0, 1)"),
        ("train.damsm_lambda", -1.0, "train.damsm_lambda: expected a value >= 0"),
        ("train.kl_weight", -0.5, "train.kl_weight: expected a value >= 0"),
        ("train.gamma1", 0.0, "train.gamma1: expected a value > 0"),
        ("train.magp_p", 0.0, "train.magp_p: expected a value > 0"),
        ("train.batch_size", 0, "train.batch_size: expected a value >= 1"),
        ("train.steps", 0, "train.steps: expected a value >= 1"),
        ("train.precision", "fp16", "train.precision: expected one of ['auto', 'bf16', 'fp32']"),
        ("train.damsm_form", "other", "train.damsm_form: expected one of"),
        ("model.ngf", 0, "model.ngf: expected a value >= 1"),
        ("model.res_blocks", -1, "model.res_blocks: expected a value >= 0"),
        ("model.ffblock_resolutions", [8, "x"], "model.ffblock_resolutions[1]: expected an integer"),
        ("model.ffblock_resolutions", [2], "model.ffblock_resolutions[0]: expected a value >= 4"),
        ("model.init", "xavier", "model.init: expected one of ['official', 'default']"),
        ("text.dropout", 1.0, "text.dropout: expected a value in [0, 1)"),
        ("text.max_words", 0, "text.max_words: expected a value >= 1"),
        ("data.num_workers", -1, "data.num_workers: expected a value >= 0"),
    ],
)
def test_out_of_range_values_name_the_dotted_key(key: str, value, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        FFGANConfig().with_overrides({key: value})
    assert str(err.value).startswith(message), str(err.value)


def test_the_same_checks_apply_to_yaml_and_to_sections_built_in_python() -> None:
    with pytest.raises(ConfigError, match=r"train\.betas\[1\]"):
        FFGANConfig.from_yaml("train:\n  betas: [0.5, 2.0]\n")
    with pytest.raises(ConfigError, match=r"train\.lr_g"):
        TrainConfig(lr_g=-1.0)
    with pytest.raises(ConfigError, match=r"train\.betas\[0\]"):
        TrainConfig(betas=["a", 0.9])


def test_valid_values_at_the_edges_are_kept_with_their_types() -> None:
    cfg = FFGANConfig().with_overrides(
        {"train.betas": [0, 0.9], "train.ema_decay": 0.0, "train.damsm_lambda": 0, "model.ffblock_resolutions": [8.0]}
    )
    assert cfg.train.betas == [0.0, 0.9] and all(isinstance(b, float) for b in cfg.train.betas)
    assert cfg.train.damsm_lambda == 0.0 and isinstance(cfg.train.damsm_lambda, float)
    assert cfg.model.ffblock_resolutions == [8] and isinstance(cfg.model.ffblock_resolutions[0], int)


def test_older_configs_still_load_amp_becomes_precision_and_extra_is_dropped() -> None:
    old = {"train": {"amp": "none", "extra": {}}}
    assert FFGANConfig.from_dict(old).train.precision == "fp32"
    assert FFGANConfig.from_dict({"train": {"amp": "bf16"}}).train.precision == "bf16"
    assert FFGANConfig().with_overrides(["train.amp=none"]).train.precision == "fp32"
    assert "amp" not in FFGANConfig().to_dict()["train"] and "extra" not in FFGANConfig().to_dict()["train"]
    with pytest.raises(ConfigError, match=r"train\.extra: this setting was removed"):
        FFGANConfig.from_dict({"train": {"extra": {"lr_warmup": 100}}})
