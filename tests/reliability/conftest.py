"""Fixtures of the reliability suite: one tiny trained run folder (about 3 s) shared by the whole suite (tests copy
it before changing it)."""

from __future__ import annotations

import pytest

from fusionblocks._faults import _hits

TINY = [
    "--preset", "tiny64",
    "--set", "model.image_size=16", "--set", "model.ngf=4", "--set", "model.ndf=4",
    "--set", "model.z_dim=8", "--set", "model.cond_dim=8",
    "--set", "text.embedding_dim=8", "--set", "text.hidden_dim=16",
    "--set", "image.kwargs={image_size: 16, region_size: 4, channels: [8, 16]}",
    "--set", "data.kwargs.size=16", "--set", "data.kwargs.max_objects=1",
    "--batch-size", "4", "--precision", "fp32", "--device", "cpu", "--no-progress", "--threads", "1",
    "--allow-random-encoders",
]


@pytest.fixture(autouse=True)
def _fresh_fault_counters():
    _hits.clear()
    yield
    _hits.clear()


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A one-step tiny64 run folder written by the real CLI."""
    from fusionblocks.cli import main

    run = tmp_path_factory.mktemp("trained") / "run"
    assert main(["train", *TINY, "--steps", "1", "--out", str(run), "--sample-every", "0"]) == 0
    return run
