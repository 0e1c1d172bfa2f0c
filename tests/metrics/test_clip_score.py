"""CLIP score: weights policy, the definition 100·max(cos, 0), preprocessing and local checkpoints."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fusionblocks.metrics import CLIPScorer, clip_score


def test_needs_local_weights_and_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match="allow_random_weights"):
        CLIPScorer("ViT-B-32")
    with pytest.raises(FileNotFoundError, match="not downloaded"):
        CLIPScorer("ViT-B-32", pretrained="openai")


def test_score_definition_with_known_embeddings(clip_scorer, monkeypatch):
    images = torch.zeros(3, 3, 8, 8)
    # cosines +0.6, 0 and -0.8: scores 60, 0 and 0 (negative cosines clip to 0)
    image_emb = torch.tensor([[3.0, 4.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    text_emb = torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, -0.8, 0.6]])
    monkeypatch.setattr(clip_scorer.model, "encode_image", lambda x: image_emb[: x.shape[0]])
    monkeypatch.setattr(clip_scorer, "_encode_text", lambda t: text_emb[: t.shape[0]])
    scores = clip_scorer(images, ["a", "b", "c"])
    torch.testing.assert_close(scores, torch.tensor([60.0, 0.0, 0.0]))
    result = clip_score(images, ["a", "b", "c"], clip_scorer)
    assert result.mean == pytest.approx(20.0) and result.num_samples == 3


def test_random_weight_scores_are_in_range_and_recorded(clip_scorer):
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    scores = clip_scorer(images, ["a small red circle", "a large blue square on the left"])
    assert scores.shape == (2,) and (scores >= 0).all() and (scores <= 100).all()
    image_emb, text_emb = clip_scorer.encode_images(images), clip_scorer.encode_captions(["a small red circle", "x"])
    torch.testing.assert_close(scores[0], 100 * (image_emb[0] @ text_emb[0]).clamp(min=0))
    assert clip_scorer.description["random_weights"] is True
    with pytest.raises(ValueError, match="captions"):
        clip_scorer(images, ["only one"])


def test_tensor_preprocessing_matches_open_clip_on_square_images(clip_scorer):
    x = clip_scorer.preprocess(torch.zeros(1, 3, 64, 64))  # mid-grey
    assert x.shape == (1, 3, 224, 224)
    expected = (0.5 - clip_scorer.mean) / clip_scorer.std
    torch.testing.assert_close(x, expected.expand_as(x))
    smooth = torch.linspace(-1, 1, 64).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    y = clip_scorer.preprocess(smooth) * clip_scorer.std + clip_scorer.mean
    ramp = F.interpolate((smooth + 1) / 2, size=(224, 224), mode="bilinear", align_corners=False)
    assert (y - ramp).abs().max() < 0.02


def test_local_checkpoint_loads(clip_scorer, tmp_path):
    path = tmp_path / "clip.pt"
    torch.save(clip_scorer.model.state_dict(), path)
    loaded = CLIPScorer("ViT-B-32", pretrained=path)
    assert loaded.description["weights"] == "clip.pt" and loaded.description["random_weights"] is False
    images = torch.rand(1, 3, 32, 32) * 2 - 1
    torch.testing.assert_close(loaded(images, ["a red circle"]), clip_scorer(images, ["a red circle"]))
