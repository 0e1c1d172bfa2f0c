"""Test-wide settings: offline, CPU, deterministic seeds, and a hypothesis profile sized for 2 CPU cores."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("FUSIONBLOCKS_DISABLE_PLUGINS", "")
# One BLAS/OpenMP thread per process (set before numpy or torch load, inherited by the subprocesses tests start):
# each xdist worker runs on its own core, and OpenBLAS's default of one busy-waiting thread per core made every
# 2048x2048 eigh of an FID ~2x slower in CPU time with two workers sharing two cores.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# torch is imported by the fixtures, not here: the xdist controller, which runs no test, then never pays its import
# (~3 CPU-s while the workers start).


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """One intra-op thread per test process: the suite runs under pytest-xdist with one worker per core, and OpenMP
    threads fighting over 2 cores made small-tensor tests ~50x slower."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed_everything() -> None:
    import torch

    torch.manual_seed(0)


@pytest.fixture
def restore_registries():
    """Undo what a test registers in-process (docs pages and examples register a plugin block, a preset, put a toy
    plugin distribution on ``sys.path``): the registries, the presets, ``sys.path`` and the plugin state."""
    import sys

    from fusionblocks import registry
    from fusionblocks.ffgan import presets

    registry.list_components()  # import the built-ins first, so that they are part of the snapshot
    saved = {kind: dict(registry.get_registry(kind)._entries) for kind in registry.KINDS}
    saved_presets = dict(presets.PRESETS)
    saved_path = list(sys.path)
    saved_plugin_state = dict(registry._plugins_state)
    yield
    sys.path[:] = saved_path
    registry._plugins_state.update(saved_plugin_state)
    for kind, entries in saved.items():
        reg = registry.get_registry(kind)
        reg._entries.clear()
        reg._entries.update(entries)
    presets.PRESETS.clear()
    presets.PRESETS.update(saved_presets)
