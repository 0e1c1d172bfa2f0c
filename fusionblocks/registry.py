"""Component registry: one [`Registry`][fusionblocks.registry.Registry] per kind, plus entry-point plugin discovery.

Components are registered under namespaced, lower-case, dotted names (``ffgan.ffblock``,
``attngan.word_attention``, ``text.clip`` ...) and built with [`create`][fusionblocks.registry.create]:

    from fusionblocks import register, create, list_components

    @register("layer", "mylab.gated_fusion")
    class GatedFusion(nn.Module): ...

    block = create("layer", "mylab.gated_fusion", channels=64, word_dim=256)

Third-party distributions publish components through the entry-point group ``fusionblocks.plugins``; each entry
point names a module (or a callable) that registers its components when imported/called. Discovery is lazy (on the
first lookup) and is turned off with the environment variable ``FUSIONBLOCKS_DISABLE_PLUGINS=1``. A plugin that
fails to load (an import error, a name registered twice) is skipped with one
[`PluginWarning`][fusionblocks.registry.PluginWarning] naming it, and whatever it had registered is rolled back, so
commands that do not need it keep working; ``FUSIONBLOCKS_STRICT_PLUGINS=1`` (or ``load_plugins(strict=True)``)
makes that a [`PluginError`][fusionblocks.registry.PluginError]. Every entry records where it came from
(``"fusionblocks"``, a plugin's distribution, or the registering module) and which entry it replaced with
``override=True`` (see [`describe`][fusionblocks.registry.describe]).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import os
import re
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable

__all__ = [
    "KINDS",
    "ENTRY_POINT_GROUP",
    "Registry",
    "PluginError",
    "PluginWarning",
    "ComponentArgumentError",
    "describe",
    "plugin_report",
    "get_registry",
    "register",
    "create",
    "get",
    "list_components",
    "load_plugins",
]

KINDS: tuple[str, ...] = (
    "layer",
    "text_encoder",
    "image_encoder",
    "loss",
    "generator",
    "discriminator",
    "recipe",
    "model",
    "metric",
)
ENTRY_POINT_GROUP = "fusionblocks.plugins"
_NAME_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


class PluginError(ImportError):
    """A plugin declared in the ``fusionblocks.plugins`` entry-point group failed to load (strict mode)."""


class PluginWarning(UserWarning):
    """A plugin failed to load and was skipped; the message names it and the escape hatches."""


class ComponentArgumentError(TypeError):
    """[`create`][fusionblocks.registry.create] got a keyword the component does not accept, or lacks a required
    one (names them)."""


@dataclass
class _Entry:
    name: str
    obj: Callable[..., Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "fusionblocks"
    replaced: str | None = None


class Registry:
    """Name → constructor mapping for one component kind.

    Args:
        kind: The component kind (one of ``KINDS``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, _Entry] = {}

    def register(
        self,
        name: str,
        obj: Callable[..., Any] | None = None,
        *,
        override: bool = False,
        **meta: Any,
    ) -> Any:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted.

        Args:
            name: Namespaced lower-case dotted name, e.g. ``"ffgan.ffblock"``.
            obj: A class or factory function.
            override: Replace an existing entry instead of raising. Re-registering the same definition
                (same module and qualified name, e.g. after ``importlib.reload``) replaces it without it.
            **meta: Free-form metadata shown in catalogues (e.g. ``paper="arXiv 2302.08706"``).
        """
        if not isinstance(name, str) or not _NAME_PATTERN.match(name):
            raise ValueError(
                f"name: expected a lower-case dotted name such as 'ffgan.ffblock', got {name!r}"
            )

        def _add(target: Callable[..., Any]) -> Callable[..., Any]:
            if not callable(target):
                raise TypeError(f"obj: expected a class or callable, got {type(target).__name__}")
            previous = self._entries.get(name)
            same = previous is not None and _same_definition(previous.obj, target)
            if previous is not None and not override and not same:
                raise ValueError(
                    f"{self.kind} {name!r} is already registered (by {_qualified(previous.obj)} from "
                    f"{previous.source}); pass override=True to replace it"
                )
            replaced = None
            if previous is not None and not same:
                replaced = f"{_qualified(previous.obj)} from {previous.source}"
            elif previous is not None:
                replaced = previous.replaced
            self._entries[name] = _Entry(name, target, dict(meta), _source_of(target), replaced)
            return target

        return _add if obj is None else _add(obj)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (mainly for tests and interactive sessions)."""
        self._lookup(name)
        del self._entries[name]

    def _lookup(self, name: str) -> _Entry:
        if not isinstance(name, str):
            raise TypeError(f"name: expected a {self.kind} name (str), got {type(name).__name__} {name!r}")
        _import_builtin_components()  # both are no-ops after the first lookup; plugins load before any lookup
        _ensure_plugins_loaded()  # answers, so an override=True plugin is in place from the first lookup on
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._entries), n=5, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise KeyError(
                f"unknown {self.kind} {name!r}{hint} "
                f"(registered: {len(self._entries)}; see fusionblocks.list_components({self.kind!r}))"
            ) from None

    def get(self, name: str) -> Callable[..., Any]:
        """Return the registered class or factory for ``name``."""
        return self._lookup(name).obj

    def metadata(self, name: str) -> dict[str, Any]:
        """Return the metadata given at registration time."""
        return dict(self._lookup(name).metadata)

    def describe(self, name: str) -> dict[str, Any]:
        """Where ``name`` comes from: ``{"name", "object", "source", "replaced"}``.

        ``source`` is ``"fusionblocks"`` for built-ins, a plugin's distribution name, or the registering module;
        ``replaced`` names the entry an ``override=True`` registration replaced (``None`` otherwise).
        """
        entry = self._lookup(name)
        return {"name": entry.name, "object": _qualified(entry.obj), "source": entry.source, "replaced": entry.replaced}

    def create(self, name: str, /, **kwargs: Any) -> Any:
        """Build ``name`` with ``kwargs`` after checking them against its signature.

        Raises:
            KeyError: ``name`` is not registered.
            TypeError: a keyword is unknown or a required argument is missing. Exceptions
                raised by the constructor itself propagate unchanged.
        """
        target = self.get(name)
        _validate_kwargs(self.kind, name, target, kwargs)
        return target(**kwargs)

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted names matching the fnmatch ``pattern``."""
        _import_builtin_components()
        _ensure_plugins_loaded()
        return sorted(n for n in self._entries if fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        _import_builtin_components()
        _ensure_plugins_loaded()
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry(kind={self.kind!r}, entries={len(self._entries)})"


def _same_definition(old: Any, new: Any) -> bool:
    """True when ``new`` is a re-execution of the definition of ``old`` (``importlib.reload``, a re-run notebook
    cell, a built-in package re-imported after a failed import): same module and qualified name, new object."""
    module = getattr(old, "__module__", None)
    qualname = getattr(old, "__qualname__", None)
    return (
        old is not new
        and module is not None
        and qualname is not None
        and "<locals>" not in qualname
        and module == getattr(new, "__module__", None)
        and qualname == getattr(new, "__qualname__", None)
    )


def _validate_kwargs(kind: str, name: str, target: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without signatures: nothing to check
        return
    params = signature.parameters
    accepts_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not accepts_var_kw:
        allowed = [
            p.name
            for p in params.values()
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        ]
        unknown = [k for k in kwargs if k not in allowed]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, allowed, n=1)
                hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ComponentArgumentError(
                f"{kind} {name!r} got unexpected keyword argument(s) {', '.join(hints)}; "
                f"accepted: {', '.join(allowed) or '(none)'}"
            )
    missing = [
        p.name
        for p in params.values()
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.name not in kwargs
    ]
    if missing:
        raise ComponentArgumentError(f"{kind} {name!r} is missing required argument(s): {', '.join(missing)}")


_REGISTRIES: dict[str, Registry] = {kind: Registry(kind) for kind in KINDS}
_plugins_state: dict[str, Any] = {
    "loaded": False, "loading": False, "done": frozenset(), "failed": {}, "current": None,
}


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', obj))}"


def _source_of(obj: Any) -> str:
    """The distribution of the plugin being loaded, ``"fusionblocks"`` for built-ins, else the module's name."""
    if _plugins_state["current"] is not None:
        return str(_plugins_state["current"])
    module = str(getattr(obj, "__module__", "") or "")
    if module == "fusionblocks" or module.startswith("fusionblocks."):
        return "fusionblocks"
    return module or "unknown"


def get_registry(kind: str) -> Registry:
    """Return the registry for ``kind``."""
    try:
        return _REGISTRIES[kind]
    except KeyError:
        close = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"kind: unknown component kind {kind!r}{hint}; expected one of {KINDS}") from None


def register(
    kind: str, name: str, obj: Callable[..., Any] | None = None, *, override: bool = False, **meta: Any
) -> Any:
    """Register a component: ``@register("layer", "mylab.block")`` or ``register("layer", "x", cls)``."""
    return get_registry(kind).register(name, obj, override=override, **meta)


def create(kind: str, name: str, /, **kwargs: Any) -> Any:
    """Build the component ``name`` of ``kind`` with keyword arguments (checked before calling)."""
    return get_registry(kind).create(name, **kwargs)


def get(kind: str, name: str) -> Callable[..., Any]:
    """Return the registered class/factory ``name`` of ``kind`` without calling it."""
    return get_registry(kind).get(name)


def describe(kind: str, name: str) -> dict[str, Any]:
    """Where a component comes from and what it replaced (see [`describe`][fusionblocks.registry.Registry.describe])."""
    return get_registry(kind).describe(name)


def list_components(kind: str | None = None, pattern: str = "*") -> list[str] | dict[str, list[str]]:
    """Registered names of ``kind`` matching the fnmatch ``pattern``.

    With ``kind=None`` returns a dict ``{kind: names}`` for every kind.
    """
    if kind is None:
        return {k: get_registry(k).names(pattern) for k in KINDS}
    return get_registry(kind).names(pattern)


# Sub-packages whose modules register built-in components when imported. They are imported on the
# first lookup rather than with ``import fusionblocks`` so that the top-level import stays cheap.
BUILTIN_COMPONENT_PACKAGES: tuple[str, ...] = (
    "fusionblocks.layers",
    "fusionblocks.text",
    "fusionblocks.image",
    "fusionblocks.losses",
    "fusionblocks.models",
    "fusionblocks.recipes",
    "fusionblocks.ffgan",
    "fusionblocks.metrics",
)
_builtins_state = {"imported": False}


def _import_builtin_components() -> None:
    if _builtins_state["imported"]:
        return
    _builtins_state["imported"] = True  # set first: the imports below re-enter the registry
    try:
        for module in BUILTIN_COMPONENT_PACKAGES:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:  # a real missing dependency inside an existing package
                    raise
    except BaseException:
        _builtins_state["imported"] = False
        raise


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _plugins_disabled() -> bool:
    return _env_flag("FUSIONBLOCKS_DISABLE_PLUGINS")


def _iter_entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def load_plugins(force: bool = False, *, strict: bool | None = None) -> list[str]:
    """Import every plugin of the ``fusionblocks.plugins`` entry-point group.

    Called lazily on the first registry lookup; call it yourself with ``force=True`` after
    installing a plugin into a running interpreter: entry points that already loaded (or failed) are not
    loaded again (a callable plugin would otherwise register its names twice). Returns the
    entry-point names loaded by this call.

    A plugin that raises while loading (including registering a name that is already taken) has everything it
    registered rolled back. By default it is then skipped with one
    [`PluginWarning`][fusionblocks.registry.PluginWarning] naming the entry point and its distribution, so that
    commands that do not need it keep working; see [`plugin_report`][fusionblocks.registry.plugin_report] for what
    loaded and what failed.

    Args:
        force: Look for entry points again (newly installed distributions).
        strict: Raise [`PluginError`][fusionblocks.registry.PluginError] instead of warning. Default: the
            environment variable ``FUSIONBLOCKS_STRICT_PLUGINS=1``.

    Raises:
        PluginError: (strict mode) a plugin failed to load; the message names the entry point and the
            distribution that declared it, and the original exception is chained.
    """
    if strict is None:
        strict = _env_flag("FUSIONBLOCKS_STRICT_PLUGINS")
    if _plugins_disabled() or _plugins_state["loading"]:
        return []
    if _plugins_state["loaded"] and not force:
        return []
    _plugins_state["loading"] = True
    loaded: list[str] = []
    try:
        for ep in _iter_entry_points():
            dist = getattr(getattr(ep, "dist", None), "name", None) or "<unknown distribution>"
            key = (dist, ep.name, ep.value)
            if key in _plugins_state["done"] or key in _plugins_state["failed"]:
                continue
            snapshot = {kind: dict(reg._entries) for kind, reg in _REGISTRIES.items()}
            _plugins_state["current"] = dist
            try:
                obj = ep.load()
                if callable(obj) and not inspect.ismodule(obj):
                    obj()
            except Exception as exc:  # noqa: BLE001 - reported with the plugin named, or re-raised in strict mode
                for kind, entries in snapshot.items():  # roll back what the plugin had registered
                    _REGISTRIES[kind]._entries.clear()
                    _REGISTRIES[kind]._entries.update(entries)
                message = (
                    f"fusionblocks plugin {ep.name!r} ({ep.value}) from distribution {dist!r} "
                    f"failed to load: {type(exc).__name__}: {exc}"
                )
                if strict:
                    raise PluginError(
                        f"{message}; uninstall or fix it, or set FUSIONBLOCKS_DISABLE_PLUGINS=1 to turn plugins off"
                    ) from exc
                _plugins_state["failed"] = {**_plugins_state["failed"], key: message}
                warnings.warn(
                    f"{message}; it was skipped (set FUSIONBLOCKS_DISABLE_PLUGINS=1 to turn plugins off, "
                    "FUSIONBLOCKS_STRICT_PLUGINS=1 to make this an error)",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            finally:
                _plugins_state["current"] = None
            _plugins_state["done"] = _plugins_state["done"] | {key}
            loaded.append(ep.name)
        _plugins_state["loaded"] = True
    finally:
        _plugins_state["loading"] = False
    return loaded


def plugin_report() -> dict[str, list[str]]:
    """What plugin discovery did: ``{"loaded": ["name (distribution)"], "failed": [messages], "overrides": [...]}``.

    ``overrides`` lists every registered name whose entry replaced another (``override=True``), with both
    sources.
    """
    _import_builtin_components()
    _ensure_plugins_loaded()
    loaded = [f"{name} ({dist})" for dist, name, _ in sorted(_plugins_state["done"])]
    overrides = [
        f"{kind} {entry.name}: {_qualified(entry.obj)} from {entry.source} replaces {entry.replaced}"
        for kind, reg in _REGISTRIES.items()
        for entry in sorted(reg._entries.values(), key=lambda e: e.name)
        if entry.replaced
    ]
    return {"loaded": loaded, "failed": list(_plugins_state["failed"].values()), "overrides": overrides}


def _ensure_plugins_loaded() -> None:
    if not _plugins_state["loaded"]:
        load_plugins()
