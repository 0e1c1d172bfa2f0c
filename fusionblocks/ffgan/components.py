"""Build a registered component for a model config: the one rule the builder follows for every kind.

A component is looked up by its registered name (``model.arch``, ``model.discriminator``, ``text.encoder``,
``image.encoder``, ``train.recipe``). When it was registered with ``from_config=fn`` (or is a class with a
``from_config`` classmethod), the builder calls ``fn(config, **context)``; otherwise it calls the component with
the kind's standard keywords (see [`build_ffgan`][fusionblocks.ffgan.builder.build_ffgan]).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..registry import get_registry
from .config import ConfigError

__all__ = ["config_builder", "build_component"]


def config_builder(kind: str, name: str, key: str) -> Callable[..., Any] | None:
    """The ``from_config`` of the registered ``name`` (None when it has none).

    Raises:
        ConfigError: ``name`` is not registered; the message names the config ``key`` and close matches.
    """
    registry = get_registry(kind)
    try:
        obj = registry.get(name)
    except KeyError as err:
        raise ConfigError(f"{key}: {err.args[0]}") from None
    builder = registry.metadata(name).get("from_config") or getattr(obj, "from_config", None)
    return builder if callable(builder) else None


def build_component(
    kind: str,
    name: str,
    config: Any,
    *,
    key: str,
    context: Mapping[str, Any],
    standard: Mapping[str, Any],
) -> Any:
    """Build ``name`` of ``kind`` for ``config``: ``from_config(config, **context)``, else ``obj(**standard)``.

    Args:
        kind: Registry kind.
        name: Registered name.
        config: The ``FFGANConfig``.
        key: The dotted config key that named the component (for errors).
        context: What the builder knows besides the config (text widths, an image size, the vocabulary).
        standard: Keywords for components registered without ``from_config``.

    Raises:
        ConfigError: ``name`` is not registered, or building it raised a ``ValueError`` (a bad config value).
    """
    builder = config_builder(kind, name, key)
    try:
        if builder is not None:
            return builder(config, **context)
        return get_registry(kind).create(name, **standard)
    except ConfigError:
        raise
    except ValueError as err:  # a bad value the component found in the config: a config error
        raise ConfigError(str(err)) from err
