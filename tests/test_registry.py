"""The component registry: registration, lookup, kwarg validation, fnmatch listing and entry-point plugins."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from fusionblocks import registry
from fusionblocks.registry import PluginError, create, get, get_registry, list_components, load_plugins, register


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    """Snapshot every registry and the plugin/builtin state; restore them after the test."""
    registry._import_builtin_components()  # built-ins are part of the snapshot, not re-imported later
    entries = {kind: dict(reg._entries) for kind, reg in registry._REGISTRIES.items()}
    plugins = dict(registry._plugins_state)
    builtins = dict(registry._builtins_state)
    modules = set(sys.modules)
    yield
    for kind, reg in registry._REGISTRIES.items():
        reg._entries.clear()
        reg._entries.update(entries[kind])
    registry._plugins_state.clear()
    registry._plugins_state.update(plugins)
    registry._builtins_state.clear()
    registry._builtins_state.update(builtins)
    for name in set(sys.modules) - modules:
        if name.startswith("fbtest_"):
            del sys.modules[name]


class Dummy:
    def __init__(self, channels: int, scale: float = 1.0, *, tag: str = "") -> None:
        if channels < 0:
            raise ArithmeticError("channels must be >= 0 (raised by the constructor itself)")
        self.channels, self.scale, self.tag = channels, scale, tag


# ---------------------------------------------------------------- registration
def test_register_decorator_and_create() -> None:
    @register("layer", "test.dummy_block", paper="none")
    class Block(Dummy):
        pass

    assert get("layer", "test.dummy_block") is Block
    built = create("layer", "test.dummy_block", channels=3, tag="t")
    assert isinstance(built, Block) and built.channels == 3 and built.tag == "t"
    assert get_registry("layer").metadata("test.dummy_block") == {"paper": "none"}
    assert "test.dummy_block" in get_registry("layer")


def test_register_function_form_and_factories() -> None:
    def factory(width: int = 2) -> dict:
        return {"width": width}

    assert register("loss", "test.factory", factory) is factory
    assert create("loss", "test.factory", width=5) == {"width": 5}


def test_duplicate_name_raises() -> None:
    register("layer", "test.dup", Dummy)

    with pytest.raises(ValueError, match=r"'test.dup' is already registered.*override=True"):
        register("layer", "test.dup", dict)


def test_override_replaces() -> None:
    register("layer", "test.dup2", Dummy)

    class Replacement(Dummy):
        pass

    register("layer", "test.dup2", Replacement, override=True)
    assert get("layer", "test.dup2") is Replacement


def test_reloading_a_registering_module_replaces_its_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    (tmp_path / "fbtest_reloaded.py").write_text(
        "from fusionblocks import register\n\n@register('layer', 'test.reloaded')\nclass Reloaded:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("fbtest_reloaded")
    first = get("layer", "test.reloaded")
    module = importlib.reload(module)  # same module and qualname, new class object: not a duplicate
    assert get("layer", "test.reloaded") is module.Reloaded is not first

    class Reloaded:  # same class name, different definition: still a duplicate
        pass

    with pytest.raises(ValueError, match="already registered"):
        register("layer", "test.reloaded", Reloaded)
    with pytest.raises(ValueError, match="already registered"):  # the very same object twice is also refused
        register("layer", "test.reloaded", module.Reloaded)


def test_same_name_in_different_kinds_is_allowed() -> None:
    register("layer", "test.shared", Dummy)
    register("loss", "test.shared", dict)
    assert get("layer", "test.shared") is Dummy and get("loss", "test.shared") is dict


@pytest.mark.parametrize("bad", ["Upper.case", "no spaces", "trailing.", ".leading", "", "a..b"])
def test_bad_names_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^name: expected a lower-case dotted name"):
        register("layer", bad, Dummy)


def test_non_callable_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"^obj: expected a class or callable"):
        register("layer", "test.not_callable", 42)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match=r"^kind: unknown component kind 'layers'; did you mean 'layer'\?"):
        get_registry("layers")


def test_unregister() -> None:
    register("layer", "test.temp", Dummy)
    get_registry("layer").unregister("test.temp")
    with pytest.raises(KeyError):
        get("layer", "test.temp")


# ---------------------------------------------------------------- lookup
def test_unknown_name_raises_keyerror_with_close_matches() -> None:
    with pytest.raises(KeyError, match=r"unknown layer 'ffgan.ffblok'; did you mean 'ffgan.ffblock'"):
        get("layer", "ffgan.ffblok")
    with pytest.raises(KeyError, match=r"unknown layer 'attngan.word_atention'.*'attngan.word_attention'"):
        create("layer", "attngan.word_atention", channels=4, word_dim=4)


def test_unknown_name_without_close_match() -> None:
    with pytest.raises(KeyError) as info:
        get("layer", "zzzzzz.qqqq")
    assert "did you mean" not in str(info.value)
    assert "list_components('layer')" in str(info.value)


# ---------------------------------------------------------------- kwarg validation
def test_unknown_kwarg_is_named_with_a_suggestion() -> None:
    register("layer", "test.kw", Dummy)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) 'chanels' \(did you mean 'channels'\?\)"):
        create("layer", "test.kw", chanels=3)


def test_missing_required_kwarg_is_named() -> None:
    register("layer", "test.kw2", Dummy)
    with pytest.raises(TypeError, match=r"'test.kw2' is missing required argument\(s\): channels$"):
        create("layer", "test.kw2", scale=2.0)


def test_constructor_exception_propagates_unchanged() -> None:
    register("layer", "test.raises", Dummy)
    with pytest.raises(ArithmeticError, match=r"^channels must be >= 0 \(raised by the constructor itself\)$") as info:
        create("layer", "test.raises", channels=-1)
    assert type(info.value) is ArithmeticError
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_builtin_constructor_error_is_not_wrapped() -> None:
    with pytest.raises(ValueError, match=r"^channels: expected a positive integer"):
        create("layer", "ffgan.ffblock", channels=0, word_dim=8)


def test_var_kwargs_targets_accept_anything() -> None:
    def loose(**kwargs: object) -> dict:
        return kwargs

    register("loss", "test.loose", loose)
    assert create("loss", "test.loose", anything=1) == {"anything": 1}


def test_create_allows_kwargs_named_like_its_own_parameters() -> None:
    def named(name: str, kind: str) -> tuple[str, str]:
        return name, kind

    register("loss", "test.named", named)
    assert create("loss", "test.named", name="n", kind="k") == ("n", "k")


# ---------------------------------------------------------------- listing
def test_list_components_fnmatch_patterns() -> None:
    register("layer", "test.alpha_block", Dummy)
    register("layer", "test.beta_block", Dummy)
    register("layer", "test.alpha_other", Dummy)
    assert list_components("layer", "test.*_block") == ["test.alpha_block", "test.beta_block"]
    assert list_components("layer", "test.alpha*") == ["test.alpha_block", "test.alpha_other"]
    assert list_components("layer", "test.?eta_block") == ["test.beta_block"]
    assert list_components("layer", "test.[ab]lpha_block") == ["test.alpha_block"]
    assert list_components("layer", "nomatch.*") == []
    names = list_components("layer")
    assert names == sorted(names) and "ffgan.ffblock" in names


def test_list_components_all_kinds() -> None:
    register("loss", "test.some_loss", dict)
    everything = list_components()
    assert set(everything) == set(registry.KINDS)
    assert "test.some_loss" in everything["loss"]
    assert "ffgan.gsr" in everything["layer"]
    assert list_components(None, "ffgan.g*")["layer"] == ["ffgan.gsr"]


# ---------------------------------------------------------------- plugins
def _write_distribution(root: Path, dist: str, module: str, source: str, entry_name: str) -> None:
    """A real installed-distribution layout: ``<dist>-0.1.dist-info`` with METADATA and entry_points.txt."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{entry_name} = {module}\n")


def _reset_plugins(monkeypatch: pytest.MonkeyPatch, disabled: str = "") -> None:
    monkeypatch.setenv("FUSIONBLOCKS_DISABLE_PLUGINS", disabled)
    monkeypatch.delenv("FUSIONBLOCKS_STRICT_PLUGINS", raising=False)
    registry._plugins_state.update(loaded=False, loading=False, done=frozenset(), failed={}, current=None)


PLUGIN_SOURCE = """
    import torch
    from torch import nn
    from fusionblocks import register

    @register("layer", "mypkg.scale")
    class Scale(nn.Module):
        def __init__(self, channels: int, factor: float = 2.0) -> None:
            super().__init__()
            self.channels, self.factor = channels, factor

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.factor
"""


def test_real_plugin_is_discovered_through_an_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    _write_distribution(tmp_path, "mypkg", "fbtest_mypkg_layers", PLUGIN_SOURCE, "mypkg")
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins(monkeypatch)
    assert "fbtest_mypkg_layers" not in sys.modules

    layer = create("layer", "mypkg.scale", channels=4, factor=3.0)  # first lookup triggers discovery

    assert "fbtest_mypkg_layers" in sys.modules
    assert torch.equal(layer(torch.ones(2)), torch.full((2,), 3.0))
    assert "mypkg.scale" in list_components("layer", "mypkg.*")
    assert registry._plugins_state["loaded"]


def test_load_plugins_returns_entry_point_names_and_calls_callables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
        from fusionblocks import register

        def setup():
            register("loss", "callpkg.loss", dict)
    """
    (tmp_path / "fbtest_callpkg.py").write_text(textwrap.dedent(source))
    info = tmp_path / "callpkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: callpkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\ncallpkg = fbtest_callpkg:setup\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins(monkeypatch)
    assert load_plugins() == ["callpkg"]
    assert get("loss", "callpkg.loss") is dict
    assert load_plugins() == []  # already loaded
    assert load_plugins(force=True) == []  # force does not re-run a loaded plugin (no duplicate registration)

    # a plugin installed into the running interpreter afterwards is picked up by force=True
    (tmp_path / "fbtest_latepkg.py").write_text("from fusionblocks import register\nregister('loss', 'latepkg.loss', list)\n")
    late = tmp_path / "latepkg-0.1.dist-info"
    late.mkdir()
    (late / "METADATA").write_text("Metadata-Version: 2.1\nName: latepkg\nVersion: 0.1\n")
    (late / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\nlatepkg = fbtest_latepkg\n")
    assert load_plugins(force=True) == ["latepkg"]
    assert get("loss", "latepkg.loss") is list


def test_broken_plugin_is_reported_by_plugin_and_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Strict mode (FUSIONBLOCKS_STRICT_PLUGINS=1): the first lookup raises, naming the plugin and the escape hatch."""
    _write_distribution(
        tmp_path, "brokenpkg", "fbtest_broken_layers", "raise RuntimeError('boom at import')\n", "brokenplug"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins(monkeypatch)
    monkeypatch.setenv("FUSIONBLOCKS_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as info:
        get("layer", "brokenpkg.anything")
    message = str(info.value)
    assert "'brokenplug'" in message and "'brokenpkg'" in message and "fbtest_broken_layers" in message
    assert "RuntimeError: boom at import" in message and "FUSIONBLOCKS_DISABLE_PLUGINS=1" in message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert isinstance(info.value, ImportError)
    assert not registry._plugins_state["loaded"] and not registry._plugins_state["loading"]


def test_broken_plugin_is_skipped_with_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By default a broken plugin is reported once, by name, with the escape hatch; everything else keeps working."""
    _write_distribution(
        tmp_path, "brokenpkg", "fbtest_broken_default", "raise RuntimeError('boom at import')\n", "brokenplug"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins(monkeypatch)
    with pytest.warns(registry.PluginWarning) as caught:
        assert "ffgan.ffblock" in list_components("layer")
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "'brokenplug'" in text and "'brokenpkg'" in text and "FUSIONBLOCKS_DISABLE_PLUGINS=1" in text
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reported once: later lookups and load_plugins(force=True) stay silent
        assert get("model", "tiny64") is not None
        assert load_plugins(force=True) == []
    assert registry.plugin_report()["failed"] == [registry._plugins_state["failed"][("brokenpkg", "brokenplug",
                                                                                      "fbtest_broken_default")]]


def test_plugin_registering_a_taken_name_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = """
        from fusionblocks import register

        register("loss", "duppkg.fine", dict)
        register("layer", "ffgan.ffblock", list)   # taken by a built-in, no override=True
    """
    _write_distribution(tmp_path, "duppkg", "fbtest_dup_layers", source, "dup")
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins(monkeypatch)
    with pytest.warns(registry.PluginWarning, match="'dup'.*already registered"):
        assert "ffgan.ffblock" in list_components("layer")
    block = get("layer", "ffgan.ffblock")
    assert block.__module__.startswith("fusionblocks.")  # the built-in is untouched
    with pytest.raises(KeyError):
        get("loss", "duppkg.fine")  # what the failed plugin registered before failing is rolled back


def test_override_is_recorded_with_the_plugin_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = """
        from torch import nn
        from fusionblocks import register

        @register("layer", "ffgan.gsr", override=True)
        class MyGSR(nn.Module):
            pass
    """
    _write_distribution(tmp_path, "overpkg", "fbtest_over_layers", source, "over")
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins(monkeypatch)
    info = registry.describe("layer", "ffgan.gsr")
    assert info["source"] == "overpkg" and info["object"].endswith("MyGSR")
    assert info["replaced"] == "fusionblocks.layers.gsr.GSR from fusionblocks"
    assert registry.describe("layer", "ffgan.ffblock") == {
        "name": "ffgan.ffblock", "object": "fusionblocks.layers.ffblock.FFBlock", "source": "fusionblocks",
        "replaced": None,
    }
    assert any("ffgan.gsr" in line and "overpkg" in line for line in registry.plugin_report()["overrides"])
    assert registry.plugin_report()["loaded"] == ["over (overpkg)"]


def test_lookup_with_a_non_string_name_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="name: expected a model name \\(str\\), got int 123"):
        get("model", 123)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_disable_plugins_env_turns_discovery_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    _write_distribution(tmp_path, "mypkg", "fbtest_disabled_layers", PLUGIN_SOURCE, "mypkg")
    monkeypatch.syspath_prepend(str(tmp_path))
    _reset_plugins(monkeypatch, disabled=value)
    assert load_plugins() == []
    with pytest.raises(KeyError, match="mypkg.scale"):
        create("layer", "mypkg.scale", channels=4)
    assert "fbtest_disabled_layers" not in sys.modules
    assert "ffgan.ffblock" in list_components("layer")  # built-ins still work
