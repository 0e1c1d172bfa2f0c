"""Look up a preset's configuration in the model registry (what ``register_preset`` recorded)."""

from __future__ import annotations

from ..registry import get_registry
from .config import FFGANConfig

__all__ = ["preset_config"]


def preset_config(name: str) -> FFGANConfig:
    """The configuration of a registered preset (a fresh copy).

    Raises:
        KeyError: unknown preset (close matches listed), or a registered model that is not a preset.
    """
    config_fn = get_registry("model").metadata(name).get("config")
    if config_fn is None:
        raise KeyError(f"model {name!r} is registered but is not a preset (it has no config)")
    return config_fn()
