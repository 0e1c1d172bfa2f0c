"""Metrics as registered objects (update/compute), evaluate() as a loop over them: protocol recorded, local RNG only,
R-precision encoding only the captions its candidates name."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusionblocks.metrics import (
    METRICS,
    EvalBatch,
    FIDMetric,
    Metric,
    RPrecisionMetric,
    compute_reference_stats,
    create_metric,
    evaluate,
    evaluate_images,
    r_precision,
    stats_fingerprint,
)
from fusionblocks.registry import list_components


class CountingTextEncoder(nn.Module):
    """Deterministic sentence code per caption string; remembers every string it encoded."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def forward(self, captions):
        self.seen.extend(captions)
        codes = [torch.randn(8, generator=torch.Generator().manual_seed(sum(map(ord, c)) * 31 + len(c))) for c in captions]
        return SimpleNamespace(sentence=torch.stack(codes))


class MeanColourEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 8)

    def forward(self, images):
        return None, self.proj(images.mean(dim=(2, 3)))


def test_every_builtin_metric_is_registered():
    assert set(METRICS) <= set(list_components("metric"))
    with pytest.raises(ValueError, match="update"):
        RPrecisionMetric(CountingTextEncoder(), MeanColourEncoder(), ["a", "b"]).compute()


def test_rprecision_encodes_only_the_candidates_and_equals_r_precision():
    torch.manual_seed(0)
    pool = [f"caption number {i}" for i in range(300)] + ["caption number 7"] * 20  # duplicates encoded once
    images = torch.rand(12, 3, 8, 8) * 2 - 1
    index = torch.arange(12) * 5
    text, image = CountingTextEncoder(), MeanColourEncoder()
    metric = RPrecisionMetric(text, image, pool, num_candidates=6, folds=3, seed=11)
    for rows in (slice(0, 5), slice(5, 12)):
        metric.update(EvalBatch(images[rows], [pool[int(i)] for i in index[rows]], index[rows]))
    result = metric.compute()
    assert len(text.seen) == len(set(text.seen)) == result["protocol"]["captions_encoded"]
    assert len(text.seen) <= 12 * 6 < len(pool)  # not the whole pool
    with torch.no_grad():
        full = r_precision(image(images)[1], text(pool).sentence, index, num_candidates=6, folds=3,
                           generator=torch.Generator().manual_seed(11))
    assert result["mean"] == pytest.approx(full.mean) and result["std"] == pytest.approx(full.std)


@pytest.mark.slow
def test_standalone_fid_object_matches_evaluate_and_records_its_protocol(random_inception, real_shapes):
    _, images, captions = real_shapes
    small = F.interpolate(images[:4], size=(32, 32), mode="bilinear", align_corners=False)
    reference = compute_reference_stats(small[:3], random_inception, batch_size=4)
    fid = create_metric("fid", extractor=random_inception, reference=reference)
    assert isinstance(fid, FIDMetric) and isinstance(fid, Metric)
    for rows in (slice(0, 2), slice(2, 4)):
        fid.update(EvalBatch(small[rows], captions[rows]))
    alone = fid.compute({"split": "test"})
    lookup = dict(zip(captions[:4], small))
    report = evaluate(lambda caps: torch.stack([lookup[c] for c in caps]), captions[:4], metrics="fid", batch_size=2,
                      reference=reference, inception=random_inception,
                      protocol={"split": "test", "ema": True, "truncation": None})
    assert report.metrics["fid"]["value"] == pytest.approx(alone["value"], rel=1e-6)
    protocol = report.metrics["fid"]["protocol"]
    assert protocol["num_samples"] == 4 and protocol["split"] == "test" and protocol["ema"] is True
    assert "truncation" in protocol and protocol["resize_filter"] == "bilinear"
    assert protocol["weights_fingerprint"] == random_inception.weights_fingerprint
    assert protocol["reference"]["fingerprint"] == stats_fingerprint(reference)
    assert protocol["image_size"] == [32, 32]


def test_evaluate_never_touches_the_global_rng(random_inception, attribute_judge, real_shapes):
    _, images, captions = real_shapes
    own = torch.Generator().manual_seed(5)

    def sample_fn(batch):
        return torch.rand(len(batch), 3, 32, 32, generator=own) * 2 - 1

    reference = torch.randn(20, 2048)
    text, image = CountingTextEncoder(), MeanColourEncoder()
    kwargs = dict(metrics="kid,is,rprec,attributes", batch_size=4, reference=reference, inception=random_inception,
                  attribute_judge=attribute_judge, text_encoder=text, image_encoder=image, kid_subsets=3,
                  kid_subset_size=4, seed=2)
    before = torch.random.get_rng_state()
    first = evaluate(sample_fn, captions[:6], **kwargs)
    assert torch.equal(torch.random.get_rng_state(), before)
    own.manual_seed(5)
    torch.manual_seed(1234)  # another global state must not change anything
    second = evaluate(sample_fn, captions[:6], **kwargs)
    assert first.metrics["kid"]["mean"] == second.metrics["kid"]["mean"]
    assert first.metrics["attributes"]["all_correct"] == second.metrics["attributes"]["all_correct"]


@pytest.mark.slow
def test_evaluate_images_of_a_folder_with_and_without_captions(tmp_path, random_inception, real_shapes):
    from PIL import Image

    from fusionblocks.data import ImageFolder
    from fusionblocks.train.grids import to_pil

    _, images, captions = real_shapes
    for i in range(3):
        to_pil(images[i]).save(tmp_path / f"{i:02d}.png")
        (tmp_path / f"{i:02d}.txt").write_text(captions[i] + "\n")
    Image.new("RGB", (64, 64)).save(tmp_path / "grid.png")  # no caption file: left out
    folder = ImageFolder(tmp_path)
    assert len(folder) == 3 and folder.captions == captions[:3] and [p.name for p in folder.skipped] == ["grid.png"]
    assert folder[0]["image"].shape == (3, 64, 64)
    reference = compute_reference_stats(images[:3], random_inception, batch_size=3)
    report = evaluate_images(folder, metrics="fid", reference=reference, inception=random_inception, batch_size=2)
    assert report.metrics["fid"]["value"] == pytest.approx(0.0, abs=0.05)  # the same images, PNG-rounded
    with pytest.raises(ValueError, match="captions"):
        evaluate_images(images[:4], metrics="rprec", text_encoder=CountingTextEncoder(),
                        image_encoder=MeanColourEncoder())
    tensor_report = evaluate_images(images[:4], metrics="rprec", captions=captions[:4],
                                    text_encoder=CountingTextEncoder(), image_encoder=MeanColourEncoder())
    assert tensor_report.metrics["rprec"]["num_candidates"] == 4


def test_clip_captions_are_encoded_up_to_the_longest_caption_only(clip_scorer):
    """The short-context text path equals open_clip's full 77-token encode_text (causal attention, EOT pooling)."""
    captions = ["a red circle", "a small blue square to the left of a large green triangle", "a", "two shapes"]
    tokens = clip_scorer.tokenizer(captions)
    full = F.normalize(clip_scorer.model.encode_text(tokens).float(), dim=-1)
    torch.testing.assert_close(clip_scorer.encode_captions(captions), full, atol=1e-5, rtol=1e-5)
    assert int(tokens.argmax(-1).max()) + 1 < tokens.shape[1]  # the shortcut really is shorter than the context
