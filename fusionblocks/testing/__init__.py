"""Conformance checks for registered components, for plugin authors and the library's own tests (in the spirit of
scikit-learn's ``check_estimator``)::

    from fusionblocks.testing import check_layer, check_generator

    check_layer("mylab.gated_fusion")        # raises ConformanceError naming the check that failed
    check_generator("mylab.tiny_generator")

Every kind has its checks (``CHECKS[kind]``: name → check); ``check_component(kind, name)`` runs them all (or the
ones named in ``checks``) on the component's conformance example: ``register(kind, name, example=factory)`` where
``factory(batch_size)`` returns a [`ComponentExample`][fusionblocks.testing.example.ComponentExample] (layers: a
``LayerExample``), or a ``"module:function"`` path to such a factory. Presets need none: they are shrunk with
``smoke_overrides``. What each kind must do is in the docstrings of
[`layer_checks`][fusionblocks.testing.layer_checks], [`encoder_checks`][fusionblocks.testing.encoder_checks],
[`loss_checks`][fusionblocks.testing.loss_checks], [`gan_checks`][fusionblocks.testing.gan_checks] and
[`model_checks`][fusionblocks.testing.model_checks]. The checks run on the CPU; they leave the global RNG as they
found it.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch

from ._assert import ConformanceError
from .encoder_checks import IMAGE_ENCODER_CHECKS, TEXT_ENCODER_CHECKS
from .example import ComponentExample, MissingExampleError
from .gan_checks import DISCRIMINATOR_CHECKS, GENERATOR_CHECKS
from .layer_checks import LAYER_CHECKS
from .lookup import example_factory, is_builtin
from .loss_checks import LOSS_CHECKS
from .model_checks import MODEL_CHECKS

__all__ = [
    "CHECKS",
    "ComponentExample",
    "ConformanceError",
    "MissingExampleError",
    "check_component",
    "check_layer",
    "check_text_encoder",
    "check_image_encoder",
    "check_loss",
    "check_generator",
    "check_discriminator",
    "check_model",
    "example_factory",
    "is_builtin",
]

#: kind → check name → ``check(factory, name)``.
CHECKS: dict[str, dict[str, Callable[[Callable[[int], object], str], None]]] = {
    "layer": LAYER_CHECKS,
    "text_encoder": TEXT_ENCODER_CHECKS,
    "image_encoder": IMAGE_ENCODER_CHECKS,
    "loss": LOSS_CHECKS,
    "generator": GENERATOR_CHECKS,
    "discriminator": DISCRIMINATOR_CHECKS,
    "model": MODEL_CHECKS,
}


def check_component(kind: str, name: str, checks: Iterable[str] | None = None) -> list[str]:
    """Run the conformance checks of ``kind`` on the registered component ``name``.

    Args:
        kind: A component kind with checks (``CHECKS``).
        name: The registered name.
        checks: Names of the checks to run (default: all of the kind's).

    Returns:
        The names of the checks that ran (all passed).

    Raises:
        ConformanceError: a check failed (an ``AssertionError``; the message names the component and the check).
        MissingExampleError: the component has no conformance example.
        KeyError: unknown kind, check or component.
    """
    if kind not in CHECKS:
        raise KeyError(f"kind: no conformance checks for {kind!r} (kinds: {sorted(CHECKS)})")
    table = CHECKS[kind]
    names = list(table) if checks is None else list(checks)
    unknown = [c for c in names if c not in table]
    if unknown:
        raise KeyError(f"checks: unknown {kind} check(s) {unknown} (known: {list(table)})")
    factory = example_factory(kind, name)
    with torch.random.fork_rng(devices=[]):
        for check in names:
            try:
                table[check](factory, name)
            except ConformanceError:
                raise
            except AssertionError as err:
                raise ConformanceError(f"{kind} {name!r}, check {check!r}: {err}") from err
            except Exception as err:  # a crash inside the component is a failed check too
                raise ConformanceError(f"{kind} {name!r}, check {check!r} raised {type(err).__name__}: {err}") from err
    return names


def check_layer(name: str, checks: Iterable[str] | None = None) -> list[str]:
    """[`check_component`][fusionblocks.testing.check_component] for a layer (kind ``"layer"``)."""
    return check_component("layer", name, checks)


def check_text_encoder(name: str, checks: Iterable[str] | None = None) -> list[str]:
    """[`check_component`][fusionblocks.testing.check_component] for a text encoder."""
    return check_component("text_encoder", name, checks)


def check_image_encoder(name: str, checks: Iterable[str] | None = None) -> list[str]:
    """[`check_component`][fusionblocks.testing.check_component] for an image encoder."""
    return check_component("image_encoder", name, checks)


def check_loss(name: str, checks: Iterable[str] | None = None) -> list[str]:
    """[`check_component`][fusionblocks.testing.check_component] for a loss."""
    return check_component("loss", name, checks)


def check_generator(name: str, checks: Iterable[str] | None = None) -> list[str]:
    """[`check_component`][fusionblocks.testing.check_component] for a generator."""
    return check_component("generator", name, checks)


def check_discriminator(name: str, checks: Iterable[str] | None = None) -> list[str]:
    """[`check_component`][fusionblocks.testing.check_component] for a discriminator."""
    return check_component("discriminator", name, checks)


def check_model(name: str, checks: Iterable[str] | None = None) -> list[str]:
    """[`check_component`][fusionblocks.testing.check_component] for a model (a preset or a plugin model)."""
    return check_component("model", name, checks)
