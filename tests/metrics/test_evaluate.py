"""evaluate(): sampling callable + captions → every metric → JSON and Markdown, with settings recorded."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusionblocks.metrics import (
    FeatureStats,
    compute_reference_stats,
    evaluate,
    load_stats,
    parse_metrics,
    save_stats,
    write_json,
    write_markdown,
)


class _HashTextEncoder(nn.Module):
    """A deterministic stand-in text encoder: sentence code from a seeded generator per caption."""

    def forward(self, captions):
        codes = [torch.randn(16, generator=torch.Generator().manual_seed(sum(map(ord, c)))) for c in captions]
        return SimpleNamespace(sentence=torch.stack(codes))


class _ColourImageEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 16)

    def forward(self, images):
        return None, self.proj(images.mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def shapes_sampler(real_shapes):
    """sample_fn that 'generates' the real 32² image of each caption (a perfect generator)."""
    ds, images, _ = real_shapes
    small = F.interpolate(images[:12], size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    captions = [ds.captions(i)[0] for i in range(12)]
    lookup = dict(zip(captions, small))

    def sample_fn(batch):
        return torch.stack([lookup[c] for c in batch])

    return sample_fn, captions, small


def test_parse_metrics():
    assert parse_metrics("fid, KID,fid") == ["fid", "kid"]
    assert "attributes" in parse_metrics("all")
    with pytest.raises(ValueError, match="metrics"):
        parse_metrics("fid,bleu")


def test_end_to_end_report_json_and_markdown(
    shapes_sampler, random_inception, clip_scorer, attribute_judge, tmp_path
):
    sample_fn, captions, small = shapes_sampler
    reference = compute_reference_stats(small[:4], random_inception, batch_size=4)
    report = evaluate(
        sample_fn,
        captions[:4],
        metrics="fid,kid,is,clip,rprec,rprec_clip,attributes",
        num_samples=4,
        batch_size=2,
        reference=reference,
        inception=random_inception,
        clip_scorer=clip_scorer,
        text_encoder=_HashTextEncoder(),
        image_encoder=_ColourImageEncoder(),
        attribute_judge=attribute_judge,
        kid_subsets=3,
        kid_subset_size=4,
    )
    metrics = report.metrics
    assert set(metrics) == {"fid", "kid", "is", "clip", "rprec", "rprec_clip", "attributes"}
    assert metrics["fid"]["value"] == pytest.approx(0.0, abs=1e-5)  # the "generator" returns the reference images
    assert metrics["is"]["splits"] == 4 and metrics["is"]["mean"] >= 1.0
    assert 0.0 <= metrics["clip"]["mean"] <= 100.0
    assert metrics["rprec"]["num_candidates"] == 4 and 0.0 <= metrics["rprec"]["mean"] <= 1.0
    assert metrics["attributes"]["all_correct"] >= 0.75
    settings = report.settings
    assert settings["num_samples"] == 4 and settings["image_size"] == [32, 32]
    assert settings["inception"]["random_weights"] is True and settings["inception"]["resize_filter"] == "bilinear"
    assert settings["clip"]["random_weights"] is True
    assert any("RANDOM" in w for w in report.warnings)

    write_json(report, tmp_path / "eval.json")
    write_markdown(report, tmp_path / "eval.md")
    data = json.loads((tmp_path / "eval.json").read_text())
    assert data["settings"]["inception"]["random_weights"] is True
    assert data["metrics"]["kid"]["num_subsets"] == 3
    markdown = (tmp_path / "eval.md").read_text()
    assert markdown.startswith("| metric | value | notes |") and "FID" in markdown and "RANDOM" in markdown
    assert "Judge: shape classifier" in markdown


def test_reference_stats_from_npz_and_settings_mismatch_warning(shapes_sampler, random_inception, tmp_path):
    sample_fn, captions, small = shapes_sampler
    stats = compute_reference_stats(small[:2], random_inception, batch_size=4)
    path = tmp_path / "ref.npz"
    save_stats(path, FeatureStats(stats.mu, stats.sigma, {**stats.meta, "resize_filter": "bicubic"}))
    assert load_stats(path).features is None
    report = evaluate(sample_fn, captions[:2], metrics=["fid"], num_samples=2, reference=path, inception=random_inception)
    assert report.metrics["fid"]["value"] == pytest.approx(0.0, abs=1e-5)
    assert any("resize_filter" in w for w in report.warnings)
    with pytest.raises(ValueError, match="KID needs reference features"):
        evaluate(sample_fn, captions[:2], metrics="kid", num_samples=2, reference=path, inception=random_inception)


def test_bad_arguments_name_themselves(shapes_sampler, random_inception):
    sample_fn, captions, _ = shapes_sampler
    with pytest.raises(ValueError, match="reference"):
        evaluate(sample_fn, captions, metrics="fid", inception=random_inception)
    with pytest.raises(ValueError, match="text_encoder"):
        evaluate(sample_fn, captions, metrics="rprec")
    with pytest.raises(TypeError, match="captions"):
        evaluate(sample_fn, "a red circle", metrics="is", inception=random_inception)
    with pytest.raises(ValueError, match="sample_fn"):
        evaluate(lambda c: torch.zeros(len(c), 3, 8), captions, metrics="is", inception=random_inception)
    with pytest.raises(TypeError, match="sample_fn"):
        evaluate(lambda c: torch.zeros(len(c), 3, 8, 8, dtype=torch.uint8), captions, metrics="is", inception=random_inception)
    with pytest.raises(FileNotFoundError, match="pt_inception"):
        evaluate(sample_fn, captions, metrics="is")


def test_seeded_sampling_is_reproducible(attribute_judge):
    def make_noisy():  # the sampler owns its randomness: evaluate() never seeds or draws from the global RNG
        generator = torch.Generator().manual_seed(3)
        return lambda batch: torch.rand(len(batch), 3, 16, 16, generator=generator) * 2 - 1

    captions = ["a small red circle", "a large blue square on the left"]
    first = evaluate(make_noisy(), captions, metrics="attributes", num_samples=6, batch_size=4,
                     attribute_judge=attribute_judge, seed=3)
    torch.manual_seed(99)
    second = evaluate(make_noisy(), captions, metrics="attributes", num_samples=6, batch_size=4,
                      attribute_judge=attribute_judge, seed=3)
    assert first.to_dict()["metrics"] == second.to_dict()["metrics"]  # (NaN-free form)
    assert first.metrics["attributes"]["num_images"] == 6


def test_captionedshapes_and_dict_datasets_as_caption_sources(attribute_judge, real_shapes):
    from fusionblocks.data import CaptionedShapes

    ds = CaptionedShapes(size=6, resolution=32, split="val", seed=2, max_objects=1, captions_per_image=1)
    texts, image_index, class_ids = ds.caption_bank()
    lookup = {c: ds.render(int(i)) for c, i in zip(texts, image_index)}

    def perfect(batch):
        return torch.stack([lookup[c] for c in batch])

    text_encoder, image_encoder = _HashTextEncoder(), _ColourImageEncoder()
    report = evaluate(perfect, ds, metrics="attributes,rprec", batch_size=4, attribute_judge=attribute_judge,
                      text_encoder=text_encoder, image_encoder=image_encoder)
    assert report.settings["num_samples"] == 6 and report.settings["num_captions"] == 6
    assert report.metrics["attributes"]["all_correct"] >= 5 / 6
    assert report.metrics["rprec"]["class_aware"] is True
    # the largest class leaves 6 - count captions of other classes: candidates = that + 1 (clipped and warned)
    expected = 6 - int(torch.bincount(class_ids).max()) + 1
    assert report.metrics["rprec"]["num_candidates"] == max(2, expected)
    # a dataset of dict items works too (class ids taken from "class_id")
    items = [{"caption": t, "class_id": int(c)} for t, c in zip(texts, class_ids)]

    class Items:
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            return items[i]

    again = evaluate(perfect, Items(), metrics="attributes", attribute_judge=attribute_judge)
    assert again.metrics["attributes"]["all_correct"] == report.metrics["attributes"]["all_correct"]
