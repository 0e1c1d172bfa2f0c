"""The text-feature probe against encoders whose answers are known: an oracle that encodes every attribute, one
that is blind to shape, and a pixel-measuring image encoder for the hard-negative R-precision."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusionblocks.data.shapes import COLORS, POSITIONS, RELATIONS, SHAPES, SIZES, parse_caption
from fusionblocks.metrics.text_probe import (
    TextProbeReport,
    linear_probe_accuracy,
    nearest_centroid_accuracy,
    one_attribute_alternatives,
    probe_text_features,
)
from fusionblocks.text import TextFeatures

_VALUES = {"color": list(COLORS), "size": list(SIZES), "shape": list(SHAPES), "position": list(POSITIONS)}
_DIM = sum(len(v) for v in _VALUES.values()) + len(RELATIONS)


def _code(attributes: dict[str, str | None], relation: str | None = None, drop: tuple[str, ...] = ()) -> torch.Tensor:
    parts = [torch.tensor([float(v == attributes.get(a)) for v in vals]) if a not in drop else torch.zeros(len(vals))
             for a, vals in _VALUES.items()]
    parts.append(torch.tensor([float(r == relation) for r in RELATIONS]))
    return torch.cat(parts)


class OracleText(nn.Module):
    """Sentence = one-hot of what the caption states (first object and relation); ``drop`` hides attributes."""

    def __init__(self, drop: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.drop = drop
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, captions, lengths=None) -> TextFeatures:
        rows = []
        for caption in captions:
            scene = parse_caption(caption)
            first = {a: getattr(scene.objects[0], a) for a in _VALUES}
            rows.append(_code(first, scene.relation, self.drop))
        sentence = torch.stack(rows) + 1e-3  # never an all-zero vector
        return TextFeatures(words=sentence[:, None, :], sentence=sentence, mask=torch.ones(len(rows), 1, dtype=bool))


class PixelImageEncoder(nn.Module):
    """Measures colour, size, shape and position of a one-object image from its pixels (exact for renders)."""

    image_size = 64

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, images: torch.Tensor):
        codes = []
        palette = torch.tensor(list(COLORS.values()), dtype=torch.float32) / 127.5 - 1
        for image in images:
            fg = (image > -0.5).any(0)
            ys, xs = fg.nonzero(as_tuple=True)
            mean = image[:, fg].mean(1)
            color = list(COLORS)[int((palette - mean).norm(dim=1).argmin())]
            n = image.shape[-1]
            cx, cy = (xs.float().mean() + 0.5) / n, (ys.float().mean() + 0.5) / n
            position = min(POSITIONS, key=lambda p: {"left": (0.25, 0.5), "right": (0.75, 0.5), "top": (0.5, 0.25),
                                                      "bottom": (0.5, 0.75), "center": (0.5, 0.5)}[p][0] * 0
                           + ((cx - {"left": .25, "right": .75}.get(p, .5)) ** 2
                              + (cy - {"top": .25, "bottom": .75}.get(p, .5)) ** 2))
            area = fg.float().mean()
            box = ((xs.max() - xs.min() + 1) * (ys.max() - ys.min() + 1)).float() / n**2
            fill = float(area / box)
            shape = "square" if fill > 0.9 else "circle" if fill > 0.65 else "triangle"
            size = "large" if area > 0.045 else "small"
            codes.append(_code({"color": color, "size": size, "shape": shape, "position": position}))
        codes = torch.stack(codes) + 1e-3
        return codes[:, :, None, None], codes


def test_linear_probe_known_answers():
    fit = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    assert linear_probe_accuracy(fit, labels, torch.tensor([[2.0, 0.1], [0.2, 3.0]]), torch.tensor([0, 1])) == 1
    assert linear_probe_accuracy(fit, labels, torch.tensor([[2.0, 0.1], [0.2, 3.0]]), torch.tensor([1, 0])) == 0
    # directions only: the scale of a feature does not matter
    assert linear_probe_accuracy(fit, labels, torch.tensor([[200.0, 10.0]]), torch.tensor([0])) == 1
    # a label that no feature dimension carries is not recovered: random labels on held-out rows stay near chance
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 8, generator=g)
    y = torch.randint(0, 4, (400,), generator=g)
    assert linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) < 0.4
    # a label carried by four directions among noise is recovered
    x[:, :4] += 3 * F.one_hot(y, 4)
    assert linear_probe_accuracy(x[:300], y[:300], x[300:], y[300:]) > 0.9
    with pytest.raises(ValueError, match="fit_features"):
        linear_probe_accuracy(fit, labels, torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="fit_features"):
        nearest_centroid_accuracy(fit, labels, torch.zeros(2, 3), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="fit_labels"):
        linear_probe_accuracy(fit, labels[:3], fit, labels)


def test_nearest_centroid_known_answers():
    fit = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    assert nearest_centroid_accuracy(fit, labels, torch.tensor([[2.0, 0.1], [0.2, 3.0]]), torch.tensor([0, 1])) == 1
    assert nearest_centroid_accuracy(fit, labels, torch.tensor([[2.0, 0.1], [0.2, 3.0]]), torch.tensor([1, 0])) == 0
    # the attribute must shape the geometry: when another attribute is encoded far more strongly (as colour
    # was in the demo's old encoders), the centroids fail while a linear probe still reads the weak one
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 3, (600,), generator=g)
    x = torch.randn(600, 8, generator=g) * 0.05
    x[:, :3] += 0.3 * F.one_hot(y, 3)
    x[:, 3:6] += 4 * F.one_hot(torch.randint(0, 3, (600,), generator=g), 3)  # a stronger, unrelated attribute
    assert linear_probe_accuracy(x[:400], y[:400], x[400:], y[400:]) > 0.95
    assert nearest_centroid_accuracy(x[:400], y[:400], x[400:], y[400:]) < 0.5


def test_alternatives_change_one_attribute():
    scene = parse_caption("a small red circle on the left")
    groups = one_attribute_alternatives(scene)
    assert {a: len(v) for a, v in groups.items()} == {"color": 5, "size": 1, "shape": 2, "position": 4}
    two = one_attribute_alternatives(parse_caption("a red circle above a blue square"))
    assert list(two) == ["relation"] and sorted(s.relation for s in two["relation"]) == ["below", "left of", "right of"]


def test_oracle_text_and_pixel_image_encoders_score_perfectly():
    report = probe_text_features(OracleText(), PixelImageEncoder(), fit_scenes=150, eval_scenes=30, relation_scenes=12)
    assert isinstance(report, TextProbeReport)
    for attr in ("color", "size", "shape", "position", "relation"):
        assert report.sentence[attr] == 1.0 and report.words[attr] == 1.0, attr
        assert report.sentence_centroid[attr] == 1.0, attr
        assert report.counts[attr] > 0
    for attr in ("color", "size", "shape", "position", "all"):
        assert report.hard_negative[attr] == 1.0, (attr, report.hard_negative)
    assert report.chance == {"color": 1 / 6, "size": 0.5, "shape": 1 / 3, "position": 0.2, "relation": 0.25}
    assert report.hard_negative_chance["all"] == pytest.approx(1 / 13)
    assert report.hard_negative_counts["color"] == 30
    text = report.format()
    assert "shape" in text and "hard-neg" in text
    assert report.to_dict()["settings"]["eval_split"] == "test"


def test_an_encoder_blind_to_shape_is_caught():
    report = probe_text_features(OracleText(drop=("shape",)), PixelImageEncoder(), fit_scenes=150, eval_scenes=30,
                                 relation_scenes=4)
    assert report.sentence["color"] == 1.0 and report.sentence["position"] == 1.0
    assert report.sentence["shape"] < 0.6  # no shape information: near chance (1/3)
    assert report.hard_negative["shape"] == 0.0  # ties never beat the alternatives
    assert report.hard_negative["color"] == 1.0 and report.hard_negative["all"] == 0.0


def test_without_image_encoder_only_the_probe_runs_and_modes_are_restored():
    text = OracleText().train()
    report = probe_text_features(text, None, fit_scenes=10, eval_scenes=10, relation_scenes=4)
    assert report.hard_negative == {} and text.training
    with pytest.raises(ValueError, match="eval_scenes"):
        probe_text_features(text, None, eval_scenes=0)
