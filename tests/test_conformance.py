"""Registry-wide conformance: every registered text encoder, image encoder, loss, generator, discriminator and model
passes its kind's checks from ``fusionblocks.testing`` (layers: tests/layers/test_conformance.py). A built-in
component without a conformance example fails; a third-party one is skipped. The checks themselves can fail."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusionblocks.registry import get_registry, list_components
from fusionblocks.testing import (
    CHECKS,
    ComponentExample,
    ConformanceError,
    MissingExampleError,
    check_component,
    check_discriminator,
    check_generator,
    check_image_encoder,
    check_loss,
    check_model,
    check_text_encoder,
    is_builtin,
)
from fusionblocks.text import TextEncoder, TextFeatures

KINDS = ("text_encoder", "image_encoder", "loss", "generator", "discriminator", "model")
HEAVY = {("text_encoder", "text.clip"), ("image_encoder", "image.damsm_inception")}  # random ViT / Inception: seconds


def _cases():
    for kind in KINDS:
        for name in list_components(kind):
            for check in CHECKS[kind]:
                marks = [pytest.mark.slow] if (kind, name) in HEAVY else []
                yield pytest.param(kind, name, check, marks=marks, id=f"{kind}-{name}-{check}")


@pytest.mark.parametrize(("kind", "name", "check"), list(_cases()))
def test_component_conformance(kind: str, name: str, check: str) -> None:
    try:
        check_component(kind, name, [check])
    except MissingExampleError:
        if is_builtin(kind, name):
            raise
        pytest.skip(f"third-party {kind} {name!r} has no conformance example")


def test_every_kind_with_components_is_covered() -> None:
    assert set(CHECKS) == {"layer", *KINDS}
    for kind in KINDS:
        assert list_components(kind), f"no built-in {kind} to check"


# ------------------------------------------------------------------------------------------ the checks can fail
class _Maskless(TextEncoder):
    """A broken text encoder: its mask marks no real token."""

    uses_vocabulary = False

    def __init__(self) -> None:
        super().__init__()
        self.word_dim = self.sentence_dim = 4
        self.proj = nn.Linear(1, 4)

    def forward(self, captions, lengths=None):
        if any(not c.strip() for c in captions):
            raise ValueError("captions: empty caption")
        x = torch.tensor([[float(len(c))] for c in captions])
        words = self.proj(x)[:, None, :].expand(-1, 3, -1)
        return TextFeatures(words=words, sentence=self.proj(x), mask=torch.zeros(len(captions), 3, dtype=torch.bool))


class _NoiseBlind(nn.Module):
    """A broken generator: ignores its noise."""

    z_dim, image_sizes = 4, [8]

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 3 * 64)

    def forward(self, z, sentence, words, mask, return_attention=True):
        from fusionblocks.models import GeneratorOutput

        image = torch.tanh(self.fc(sentence)).view(-1, 3, 8, 8)
        return GeneratorOutput(images=[image], attention=[], mu=None, logvar=None)


@dataclass
class _Out:
    loss: torch.Tensor


class _NaNLoss(nn.Module):
    def forward(self, x):
        return _Out(loss=(x * float("nan")).sum())


class _BatchMixingImageEncoder(nn.Module):
    """A broken image encoder: its code depends on the other images of the batch (even in eval mode)."""

    embed_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, images):
        regions = F.adaptive_avg_pool2d(self.conv(images), 2)
        code = regions.mean((2, 3))
        return regions, code - code.mean(0, keepdim=True)


class _WrongCaptionIgnored(nn.Module):
    """A broken discriminator: its mismatched-caption logits score the true caption."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.joint, self.plain = nn.Conv2d(3, 4, 3, padding=1), nn.Linear(4 + 6, 1), nn.Linear(4, 1)

    def forward(self, images, sentence=None, wrong_sentence=None):
        from fusionblocks.models import DiscriminatorOutput

        f = self.conv(images).mean((2, 3))
        cond = self.joint(torch.cat([f, sentence], 1)).squeeze(1) if sentence is not None else None
        wrong = self.joint(torch.cat([f, sentence], 1)).squeeze(1) if wrong_sentence is not None else None
        return DiscriminatorOutput(features=f[:, :, None, None], cond=cond, uncond=self.plain(f).squeeze(1),
                                   wrong=wrong)


def _unfrozen_tiny64(batch_size: int) -> ComponentExample:
    """A broken model: its text encoder is left trainable."""
    from fusionblocks.testing.builtin_examples import preset_example

    example = preset_example("tiny64")(batch_size)
    example.module.text_encoder.requires_grad_(True)
    return example


def _register(kind: str, name: str, obj, example) -> None:
    get_registry(kind).register(name, obj, example=example)


def test_checks_catch_broken_components() -> None:
    cases = [
        ("text_encoder", "test.maskless", _Maskless,
         lambda b: ComponentExample(_Maskless(), (["a red circle", "a blue square", "a cat"][:b],)),
         check_text_encoder, "real token"),
        ("generator", "test.noise_blind", _NoiseBlind,
         lambda b: ComponentExample(_NoiseBlind(), (torch.randn(b, 4), torch.randn(b, 6), torch.randn(b, 3, 5),
                                                    torch.ones(b, 3, dtype=torch.bool))),
         check_generator, "noise"),
        ("loss", "test.nan_loss", _NaNLoss,
         lambda b: ComponentExample(_NaNLoss(), (torch.randn(b, 2, requires_grad=True),)), check_loss, "NaN"),
        ("image_encoder", "test.batch_mixing", _BatchMixingImageEncoder,
         lambda b: ComponentExample(_BatchMixingImageEncoder(), (torch.rand(b, 3, 8, 8) * 2 - 1,)),
         check_image_encoder, "batch of one"),
        ("discriminator", "test.wrong_ignored", _WrongCaptionIgnored,
         lambda b: ComponentExample(_WrongCaptionIgnored(), (torch.rand(b, 3, 8, 8) * 2 - 1, torch.randn(b, 6))),
         check_discriminator, "wrong-caption"),
        ("model", "test.unfrozen", lambda **kw: None, _unfrozen_tiny64, check_model, "frozen"),
    ]
    for kind, name, obj, example, check, message in cases:
        _register(kind, name, obj, example)
        try:
            with pytest.raises(ConformanceError, match=message):
                check(name)
        finally:
            get_registry(kind).unregister(name)


def test_builtin_component_without_example_fails_and_plugins_are_skipped() -> None:
    class Undocumented(nn.Module):
        pass

    Undocumented.__module__ = "fusionblocks.losses.undocumented"
    registry = get_registry("loss")
    registry.register("test.undocumented", Undocumented)
    try:
        assert is_builtin("loss", "test.undocumented")
        with pytest.raises(MissingExampleError, match="example="):
            check_loss("test.undocumented")
    finally:
        registry.unregister("test.undocumented")
