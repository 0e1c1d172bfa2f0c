"""One path from config to loop: the trainer takes its settings from gan.config, with explicit overrides only."""

from __future__ import annotations

import json

import pytest

from fusionblocks.data import CaptionedShapes
from fusionblocks.ffgan import build_ffgan, preset_config
from fusionblocks.train import smoke_overrides
from fusionblocks.train.checkpoint import load_checkpoint
from fusionblocks.train.trainer import Trainer, TrainerConfig

from toy_gan import build_toy


def _tiny_gan(**train):
    overrides = smoke_overrides(preset_config("tiny64"))
    overrides.update({f"train.{k}": v for k, v in train.items()})
    return build_ffgan("tiny64", **overrides)


def _data(size: int = 12):
    return CaptionedShapes(size=size, resolution=16, seed=0, max_objects=1)


def test_trainer_uses_gan_config_train(tmp_path):
    gan = _tiny_gan(batch_size=3, steps=2, seed=7, precision="fp32", log_every=1, sample_every=0,
                    checkpoint_every=0)
    trainer = Trainer(gan, _data(), tmp_path / "run", progress=False)
    cfg = trainer.cfg
    assert (cfg.batch_size, cfg.steps, cfg.seed, cfg.precision, cfg.log_every) == (3, 2, 7, "fp32", 1)
    assert trainer.loader.batch_size == 3 and trainer.total_steps == 2 and trainer.precision == "fp32"
    result = trainer.fit()
    assert result.step == 2
    saved = load_checkpoint(result.checkpoint, groups=[], load_optimizers=False)
    assert saved.config["train"]["batch_size"] == 3 and saved.config["train"]["steps"] == 2


def test_explicit_overrides_win_and_the_checkpoint_records_them(tmp_path):
    gan = _tiny_gan(batch_size=3, steps=5, precision="fp32", sample_every=0, checkpoint_every=0)
    trainer = Trainer(gan, _data(), tmp_path / "run", progress=False, batch_size=2, steps=1)
    assert trainer.cfg.batch_size == 2 and trainer.total_steps == 1
    assert gan.config.train.batch_size == 3  # the built GAN's config itself is not changed
    result = trainer.fit()
    saved = load_checkpoint(result.checkpoint, groups=[], load_optimizers=False)
    assert saved.config["train"]["batch_size"] == 2 and saved.config["train"]["steps"] == 1
    state = json.loads((result.checkpoint / "state.json").read_text())
    assert state["trainer"]["batch_size"] == 2


def test_epochs_become_steps_per_process_once(tmp_path):
    # 12 items, batch 4: three batches per epoch on one process
    trainer = Trainer(build_toy(0), _data(), tmp_path, TrainerConfig(epochs=2, batch_size=4, progress=False))
    assert trainer.cfg.steps is None and trainer.total_steps == 6
    assert Trainer(build_toy(0), _data(), tmp_path, TrainerConfig(epochs=2, steps=1, batch_size=4)).total_steps == 1
    # with two processes each shard has half the batches (tests/train/test_distributed.py checks it under DDP)


def test_a_run_without_a_length_is_refused(tmp_path):
    with pytest.raises(ValueError, match="train.steps or train.epochs"):
        Trainer(build_toy(0), _data(), tmp_path, TrainerConfig(batch_size=4))


def test_from_config_reads_the_train_and_data_sections_and_checks_overrides():
    config = preset_config("dfgan").with_overrides(
        {"train.batch_size": 6, "train.epochs": 3, "train.precision": "bf16", "data.num_workers": 2,
         "model.keep_unused_shortcuts": True}
    )
    cfg = TrainerConfig.from_config(config, device="cpu", steps=None)
    assert (cfg.batch_size, cfg.epochs, cfg.steps, cfg.precision, cfg.num_workers) == (6, 3, None, "bf16", 2)
    assert cfg.find_unused_parameters and cfg.device == "cpu"
    assert TrainerConfig.from_config(config.to_dict()) == TrainerConfig.from_config(config)
    assert TrainerConfig.from_config(None) == TrainerConfig()
    with pytest.raises(TypeError, match="batchsize"):
        TrainerConfig.from_config(config, batchsize=3)
    with pytest.raises(ValueError, match="precision"):
        TrainerConfig(precision="fp16")


def test_init_runs_no_generator_forward_and_custom_loggers_get_the_records(tmp_path):
    gan = build_toy(0)
    calls = []
    gan.generator.register_forward_hook(lambda *a: calls.append(1))
    records = []

    class ListLogger:
        def log(self, step, values):
            records.append((step, dict(values)))

        def close(self):
            records.append("closed")

    cfg = TrainerConfig(steps=2, batch_size=4, precision="fp32", log_every=1, sample_every=0, checkpoint_every=0,
                        progress=False, num_samples=2)
    trainer = Trainer(gan, _data(), tmp_path, cfg, loggers=[ListLogger()])
    assert calls == [] and trainer.scale_sizes == [8, 16]
    trainer.fit()
    assert [r[0] for r in records[:-1]] == [1, 2] and records[-1] == "closed"
    assert "g_adv" in records[0][1] and "images_per_s" in records[0][1]
    assert (tmp_path / "metrics.jsonl").exists() and not (tmp_path / "tensorboard").exists()
    with pytest.raises(TypeError, match=r"loggers\[0\]"):
        Trainer(build_toy(0), _data(), tmp_path / "x", cfg, loggers=[object()])


def test_tensorboard_is_opt_in():
    assert TrainerConfig().tensorboard is False
    with pytest.raises(TypeError, match="tensorboard"):
        TrainerConfig(tensorboard=None)
