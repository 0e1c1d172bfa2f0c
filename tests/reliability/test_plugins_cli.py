"""Broken and overriding plugins seen through the real CLI: reported once by name, other commands keep working."""

from __future__ import annotations

import sys
import textwrap

import pytest

from fusionblocks import registry
from fusionblocks.cli import main


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Install fake distributions (dist-info + module) on sys.path; restore every registry afterwards."""
    registry._import_builtin_components()
    entries = {kind: dict(reg._entries) for kind, reg in registry._REGISTRIES.items()}
    state = dict(registry._plugins_state)
    modules = set(sys.modules)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FUSIONBLOCKS_DISABLE_PLUGINS", "")
    monkeypatch.delenv("FUSIONBLOCKS_STRICT_PLUGINS", raising=False)
    registry._plugins_state.update(loaded=False, loading=False, done=frozenset(), failed={}, current=None)

    def install(dist: str, module: str, source: str) -> None:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{dist}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{dist} = {module}\n")

    yield install
    for kind, reg in registry._REGISTRIES.items():
        reg._entries.clear()
        reg._entries.update(entries[kind])
    registry._plugins_state.clear()
    registry._plugins_state.update(state)
    for name in set(sys.modules) - modules:
        if name.startswith("fbrel_"):
            del sys.modules[name]


BROKEN = "import fbrel_no_such_dependency\n"
DUPLICATE = """
    from fusionblocks import register
    register("model", "tiny64", dict)
"""


@pytest.mark.parametrize("source", [BROKEN, DUPLICATE], ids=["import error", "duplicate name"])
def test_broken_plugin_warns_once_and_commands_work(plugins, source, trained_run, tmp_path, capsys):
    plugins("brokenplug", "fbrel_broken", source)
    assert main(["list", "model"]) == 0
    out, err = capsys.readouterr()
    assert "tiny64" in out.split()
    warnings = [line for line in err.splitlines() if line.strip()]
    assert len(warnings) == 1 and warnings[0].startswith("fusionblocks list: warning: ")
    assert "'brokenplug'" in warnings[0] and "FUSIONBLOCKS_DISABLE_PLUGINS=1" in warnings[0]
    # an unrelated checkpoint still samples, with no second report
    assert main(["sample", "--checkpoint", str(trained_run), "--caption", "a red circle",
                 "--out", str(tmp_path / "s")]) == 0
    assert "brokenplug" not in capsys.readouterr().err
    assert main(["info"]) == 0
    assert "failed     fusionblocks plugin 'brokenplug'" in capsys.readouterr().out


def test_strict_mode_makes_it_an_error(plugins, monkeypatch, capsys):
    plugins("brokenplug", "fbrel_broken_strict", BROKEN)
    monkeypatch.setenv("FUSIONBLOCKS_STRICT_PLUGINS", "1")
    assert main(["list"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("fusionblocks list: error: fusionblocks plugin 'brokenplug'")
    assert "FUSIONBLOCKS_DISABLE_PLUGINS=1" in err


def test_disabled_plugins_are_not_loaded(plugins, monkeypatch, capsys):
    plugins("brokenplug", "fbrel_broken_disabled", BROKEN)
    monkeypatch.setenv("FUSIONBLOCKS_DISABLE_PLUGINS", "1")
    assert main(["list", "layer"]) == 0
    assert capsys.readouterr().err == ""


def test_override_is_shown_with_its_distribution(plugins, capsys):
    plugins("overplug", "fbrel_override", """
        from torch import nn
        from fusionblocks import register

        @register("layer", "ffgan.gsr", override=True)
        class PatchedGSR(nn.Module):
            pass
    """)
    assert main(["list", "layer", "--pattern", "ffgan.g*"]) == 0
    line = capsys.readouterr().out.strip()
    assert line == "ffgan.gsr  (from overplug; overrides fusionblocks.layers.gsr.GSR from fusionblocks)"
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "plugins      overplug (overplug)" in out
    assert "override   layer ffgan.gsr: fbrel_override.PatchedGSR from overplug replaces fusionblocks" in out
