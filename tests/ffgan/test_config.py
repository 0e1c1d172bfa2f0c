"""FFGANConfig: YAML round trip, strict keys with dotted names, overrides, preset values (docs/ffgan.md "Presets")."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.ffgan import ConfigError, FFGANConfig, parse_overrides, preset_config
from fusionblocks.ffgan.presets import PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_round_trips_through_yaml(name: str, tmp_path) -> None:
    config = preset_config(name)
    path = tmp_path / f"{name}.yaml"
    text = config.to_yaml(path)
    assert yaml.safe_load(text) == config.to_dict()
    assert FFGANConfig.from_yaml(path) == config
    assert FFGANConfig.from_yaml(text) == config


@given(
    ngf=st.integers(1, 512),
    lr=st.floats(1e-6, 1.0, allow_nan=False),
    mask=st.booleans(),
    weights=st.one_of(st.none(), st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12)),
    betas=st.lists(st.floats(0.0, 0.999, allow_nan=False), min_size=2, max_size=2),
    extra=st.dictionaries(st.sampled_from(["a", "b_c", "d"]), st.integers(-5, 5), max_size=3),
)
def test_yaml_round_trip_property(ngf, lr, mask, weights, betas, extra) -> None:
    config = FFGANConfig().with_overrides(
        {"model.ngf": ngf, "train.lr_g": lr, "model.mask_padding": mask, "text.weights": weights,
         "train.betas": betas, "model.stage_fusion_kwargs": extra}
    )
    again = FFGANConfig.from_yaml(config.to_yaml())
    assert again == config
    assert again.model.ngf == ngf and again.train.lr_g == lr and again.text.weights == weights


@pytest.mark.parametrize(
    "data,key",
    [
        ({"modle": {}}, "'modle'"),
        ({"model": {"ngff": 3}}, "'model.ngff'"),
        ({"train": {"lr_gg": 1.0}}, "'train.lr_gg'"),
        ({"text": {"clip": {"x": 1}}}, "'text.clip'"),
    ],
)
def test_unknown_keys_are_rejected_with_their_dotted_name(data, key) -> None:
    with pytest.raises(ConfigError, match=key):
        FFGANConfig.from_dict(data)
    with pytest.raises(ConfigError, match=key):
        FFGANConfig.from_yaml(yaml.safe_dump(data) + "\n")


def test_unknown_key_error_suggests_close_matches() -> None:
    with pytest.raises(ConfigError, match="did you mean 'model.ngf'"):
        FFGANConfig().with_overrides(["model.ngff=3"])


@pytest.mark.parametrize(
    "item,key",
    [("model.ngf=abc", "model.ngf"), ("model.mask_padding=3", "model.mask_padding"), ("train.betas=0.5", "train.betas"),
     ("text.vocab_size=1.5", "text.vocab_size")],
)
def test_bad_value_types_name_the_key(item: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        FFGANConfig().with_overrides([item])


def test_overrides_parse_yaml_scalars_and_collections() -> None:
    parsed = parse_overrides(
        ["model.ngf=32", "train.lr_g=2e-4", "train.betas=[0.0, 0.9]", "text.weights=null", "model.mask_padding=false",
         "name=my run"]
    )
    assert parsed == {"model.ngf": 32, "train.lr_g": "2e-4", "train.betas": [0.0, 0.9], "text.weights": None,
                      "model.mask_padding": False, "name": "my run"}
    config = FFGANConfig().with_overrides(
        ["model.ngf=32", "train.lr_g=2e-4", "train.betas=[0.0, 0.9]", "model.stage_fusion_kwargs.hidden_channels=7"]
    )
    assert config.model.ngf == 32
    assert config.train.lr_g == pytest.approx(2e-4) and isinstance(config.train.lr_g, float)
    assert config.train.betas == [0.0, 0.9]
    assert config.model.stage_fusion_kwargs == {"hidden_channels": 7}
    with pytest.raises(ConfigError, match="section.key=value"):
        parse_overrides(["model.ngf"])


def test_keyword_overrides_merge_sections_and_leave_the_original_alone() -> None:
    base = FFGANConfig()
    new = base.with_overrides(model={"ngf": 8}, train__batch_size=3, **{"text.max_words": 7})
    assert (new.model.ngf, new.model.ndf, new.train.batch_size, new.text.max_words) == (8, 32, 3, 7)
    assert base.model.ngf == 64 and base.train.batch_size == 4
    with pytest.raises(ConfigError, match="'model.ngff'"):
        base.with_overrides(model={"ngff": 1})
    with pytest.raises(ConfigError, match="not a section"):
        base.with_overrides(["model.ngf.x=1"])


def test_yaml_1_1_exponent_floats_are_accepted() -> None:
    config = FFGANConfig.from_yaml("train:\n  lr_g: 2e-4\n  lr_d: 4e-4\n")
    assert config.train.lr_g == pytest.approx(2e-4) and config.train.lr_d == pytest.approx(4e-4)


def test_official_presets_carry_the_official_values() -> None:
    cub, coco = preset_config("cub256"), preset_config("coco256")
    for cfg in (cub, coco):
        m, t = cfg.model, cfg.train
        assert (m.arch, m.num_stages, m.image_size, m.ngf, m.ndf, m.z_dim, m.cond_dim) == ("stacked", 3, 256, 64, 32, 100, 100)
        assert m.image_sizes == [64, 128, 256]
        assert m.stage_fusion == "ffgan.stage_fusion" and m.mask_padding is False and m.ca_sample_in_eval is True
        assert (t.lr_g, t.lr_d, t.betas, t.ema_decay) == (2e-4, 2e-4, [0.5, 0.999], 0.999)
        assert (t.gamma1, t.gamma2, t.gamma3) == (4.0, 5.0, 10.0)
        assert cfg.text.encoder == "text.damsm_bilstm" and cfg.text.hidden_dim == 256
        assert m.init == "official" and t.recipe == "ffgan"
    assert (cub.model.res_blocks, cub.text.max_words, cub.train.batch_size, cub.train.damsm_lambda) == (2, 18, 4, 5.0)
    assert (coco.model.res_blocks, coco.text.max_words, coco.train.batch_size, coco.train.damsm_lambda) == (3, 12, 16, 50.0)
    assert (cub.text.vocab_size, coco.text.vocab_size) == (5450, 27297)
    df = preset_config("dfgan")
    assert (df.model.arch, df.train.recipe, df.train.lr_g, df.train.lr_d, df.train.betas, df.train.ema_decay) == (
        "dfgan", "dfgan", 1e-4, 4e-4, [0.0, 0.9], None)
    assert preset_config("tiny64").model.mask_padding is True  # new presets mask padded words
