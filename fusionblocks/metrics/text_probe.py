"""Do a text encoder's features carry every CaptionedShapes attribute? A probe of sentence and word features, and
DAMSM R-precision against hard negatives that differ from the true caption in exactly one attribute.

Two measurements, both on held-out captions (the ``test`` split; nothing here trains the encoders):

* **Feature probe.** A linear probe per attribute (colour, size, shape, position; relation for two-object
  captions), fitted on ``train``-split captions and evaluated on ``test``-split captions that state the attribute
  ([linear_probe_accuracy][fusionblocks.metrics.text_probe.linear_probe_accuracy]). Features are L2-normalised
  first, as DAMSM compares them by cosine. It is run on the sentence vectors and on the masked mean of the word
  vectors. A feature that does not separate an attribute's values scores near chance (``1 / number of
  values``, or the majority value's share). Beside it, a stricter **nearest-centroid** probe
  ([nearest_centroid_accuracy][fusionblocks.metrics.text_probe.nearest_centroid_accuracy]): each held-out caption
  takes the value whose mean training direction is closest by cosine. It asks whether the attribute shapes the
  feature geometry that DAMSM's cosine scores see, not only whether some direction holds it: random, untrained
  features already give a linear probe well above chance.
* **Hard-negative R-precision.** For each held-out image, its full caption (``"a {size} {color} {shape}
  {position}"``, or ``"a {size} {color} {shape} {relation} a {size} {color} {shape}"`` for two objects) is scored
  against every caption that changes exactly one attribute, by the DAMSM sentence score ``cos(image code,
  sentence)``. Per attribute, the hit rate is the fraction of images whose true caption outscores all of that
  attribute's alternatives; ``all`` asks it to outscore every alternative of every attribute at once. Ordinary
  R-precision draws its 99 mismatched captions at random, and nearly all of them differ in colour, so it cannot
  see a model that ignores shape or position; this one can.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.shapes import (
    COLORS,
    POSITIONS,
    RELATIONS,
    SHAPES,
    SIZES,
    TEMPLATES_ONE,
    TEMPLATES_TWO,
    CaptionedShapes,
    captions_for_scene,
    parse_caption,
    render_caption,
)

__all__ = ["TextProbeReport", "probe_text_features", "linear_probe_accuracy", "nearest_centroid_accuracy",
           "one_attribute_alternatives", "PROBE_ATTRIBUTES"]

#: Attributes probed, in report order ("relation" from two-object captions).
PROBE_ATTRIBUTES: tuple[str, ...] = ("color", "size", "shape", "position", "relation")


@dataclass
class TextProbeReport:
    """Result of [probe_text_features][fusionblocks.metrics.text_probe.probe_text_features].

    Attributes:
        sentence: Per attribute, linear-probe accuracy of the sentence vectors on held-out captions.
        words: The same for the masked mean of the word vectors.
        sentence_centroid: Per attribute, nearest-centroid accuracy of the sentence vectors (stricter).
        words_centroid: The same for the mean word vectors.
        counts: Per attribute, held-out captions that state it (the probe's denominator).
        chance: Per attribute, ``1 / number of values``.
        hard_negative: Per attribute (and ``"all"``), the hard-negative R-precision (empty without an image
            encoder).
        hard_negative_counts: Images behind each hard-negative figure.
        hard_negative_chance: Per attribute, ``1 / (1 + number of alternatives)``.
        settings: What was measured (image counts, resolution, seed).
    """

    sentence: dict[str, float]
    words: dict[str, float]
    counts: dict[str, int]
    chance: dict[str, float]
    sentence_centroid: dict[str, float] = field(default_factory=dict)
    words_centroid: dict[str, float] = field(default_factory=dict)
    hard_negative: dict[str, float] = field(default_factory=dict)
    hard_negative_counts: dict[str, int] = field(default_factory=dict)
    hard_negative_chance: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "sentence": dict(self.sentence),
            "words": dict(self.words),
            "sentence_centroid": dict(self.sentence_centroid),
            "words_centroid": dict(self.words_centroid),
            "counts": dict(self.counts),
            "chance": dict(self.chance),
            "hard_negative": dict(self.hard_negative),
            "hard_negative_counts": dict(self.hard_negative_counts),
            "hard_negative_chance": dict(self.hard_negative_chance),
            "settings": dict(self.settings),
        }

    def format(self) -> str:
        """A plain-text table: one row per attribute."""
        head = f"{'':<10} {'linear probe':>17} {'nearest centroid':>17}"
        if self.hard_negative:
            head += f" {'':>13} {'':>5} {'':>7}"
        head += "\n" + f"{'attribute':<10} {'sentence':>9} {'words':>7} {'sentence':>9} {'words':>7}"
        head += f" {'n':>5} {'chance':>7}"
        if self.hard_negative:
            head += f" {'hard-neg R@1':>13} {'n':>5} {'chance':>7}"
        rows = [head]
        for attr in [*PROBE_ATTRIBUTES, "all"]:
            if attr not in self.sentence and attr not in self.hard_negative:
                continue
            row = f"{attr:<10} "
            if attr in self.sentence:
                row += f"{self.sentence[attr]:>9.1%} {self.words[attr]:>7.1%} "
                row += f"{self.sentence_centroid[attr]:>9.1%} {self.words_centroid[attr]:>7.1%} "
                row += f"{self.counts[attr]:>5} {self.chance[attr]:>7.1%}"
            else:
                row += f"{'':>9} {'':>7} {'':>9} {'':>7} {'':>5} {'':>7}"
            if attr in self.hard_negative:
                row += (f" {self.hard_negative[attr]:>13.1%} {self.hard_negative_counts[attr]:>5}"
                        f" {self.hard_negative_chance[attr]:>7.1%}")
            rows.append(row)
        return "\n".join(rows)


def nearest_centroid_accuracy(
    fit_features: torch.Tensor, fit_labels: torch.Tensor, eval_features: torch.Tensor, eval_labels: torch.Tensor
) -> float:
    """Accuracy of a cosine nearest-centroid classifier fitted on one set and evaluated on another.

    Features are L2-normalised; each class centroid is the mean of its normalised fit features; an eval feature
    takes the class of the centroid with the highest cosine. Classes absent from the fit set cannot be predicted.

    Args:
        fit_features: Features the centroids are fitted on.
        fit_labels: Their integer labels.
        eval_features: Features to classify.
        eval_labels: Their true labels.

    Returns:
        The fraction of ``eval_features`` classified correctly.

    Raises:
        ValueError: empty sets or mismatched lengths.

    Shapes:
        fit_features ``(N, D)``, fit_labels ``(N,)``; eval_features ``(M, D)``, eval_labels ``(M,)``.
    """
    _check_probe_sets(fit_features, fit_labels, eval_features, eval_labels)
    classes = torch.unique(fit_labels)
    fit = F.normalize(fit_features.double(), dim=1)
    onehot = (fit_labels[:, None] == classes[None, :]).double()  # (N, K)
    centroids = F.normalize(onehot.t() @ fit, dim=1)  # (K, D)
    predicted = classes[(F.normalize(eval_features.double(), dim=1) @ centroids.t()).argmax(dim=1)]
    return float((predicted == eval_labels).double().mean())


def _check_probe_sets(
    fit_features: torch.Tensor, fit_labels: torch.Tensor, eval_features: torch.Tensor, eval_labels: torch.Tensor
) -> None:
    if fit_features.ndim != 2 or eval_features.ndim != 2 or fit_features.shape[1] != eval_features.shape[1]:
        raise ValueError(
            f"fit_features: expected (N, D) and (M, D) features, got {tuple(fit_features.shape)} and "
            f"{tuple(eval_features.shape)}"
        )
    if fit_features.shape[0] != fit_labels.shape[0] or eval_features.shape[0] != eval_labels.shape[0]:
        raise ValueError("fit_labels: expected one label per feature row")
    if fit_features.shape[0] == 0 or eval_features.shape[0] == 0:
        raise ValueError("fit_features: expected non-empty fit and eval sets")


def linear_probe_accuracy(
    fit_features: torch.Tensor,
    fit_labels: torch.Tensor,
    eval_features: torch.Tensor,
    eval_labels: torch.Tensor,
    ridge: float = 1e-3,
) -> float:
    """Accuracy of a linear probe fitted on one set and evaluated on another.

    Features are L2-normalised (the probe reads directions, as DAMSM's cosine does) and get a bias column; the
    probe is ridge regression onto one-hot labels, ``W = (XᵀX + ridge·N·I)⁻¹ XᵀY``, predicting the arg-max class.
    Classes absent from the fit set cannot be predicted. A feature that holds an attribute linearly scores near
    1; one that does not scores near the majority-class rate.

    Args:
        fit_features: Features the probe is fitted on.
        fit_labels: Their integer labels.
        eval_features: Features to classify.
        eval_labels: Their true labels.
        ridge: Ridge strength, relative to the number of fit rows.

    Returns:
        The fraction of ``eval_features`` classified correctly.

    Raises:
        ValueError: empty sets or mismatched lengths.

    Shapes:
        fit_features ``(N, D)``, fit_labels ``(N,)``; eval_features ``(M, D)``, eval_labels ``(M,)``.
    """
    _check_probe_sets(fit_features, fit_labels, eval_features, eval_labels)

    def design(x: torch.Tensor) -> torch.Tensor:
        x = F.normalize(x.double(), dim=1)
        return torch.cat([x, torch.ones_like(x[:, :1])], dim=1)

    classes = torch.unique(fit_labels)
    x = design(fit_features)
    y = (fit_labels[:, None] == classes[None, :]).double()
    gram = x.t() @ x + ridge * x.shape[0] * torch.eye(x.shape[1], dtype=x.dtype)
    weights = torch.linalg.solve(gram, x.t() @ y)
    predicted = classes[(design(eval_features) @ weights).argmax(dim=1)]
    return float((predicted == eval_labels).double().mean())


def _values(attribute: str) -> tuple[str, ...]:
    return {"color": tuple(COLORS), "size": SIZES, "shape": SHAPES, "position": POSITIONS,
            "relation": RELATIONS}[attribute]


def one_attribute_alternatives(scene: Any) -> dict[str, list[Any]]:
    """Every scene that differs from ``scene`` in exactly one attribute, grouped by that attribute.

    For one object: each other colour, size, shape and position of the object. For two objects: each other
    relation (the objects' own attributes are left alone, so that the alternatives test the relation only).
    Attributes the scene leaves unstated (``None``) get no alternatives.

    Args:
        scene: A ``SceneAttributes`` of one or two objects.

    Returns:
        ``{attribute: [SceneAttributes, ...]}`` for the attributes that have alternatives.
    """
    out: dict[str, list[Any]] = {}
    if len(scene.objects) == 1:
        obj = scene.objects[0]
        for attr in ("color", "size", "shape", "position"):
            value = getattr(obj, attr)
            if value is None:
                continue
            out[attr] = [replace(scene, objects=(replace(obj, **{attr: other}),))
                         for other in _values(attr) if other != value]
    elif scene.relation is not None:
        out["relation"] = [replace(scene, relation=other) for other in _values("relation") if other != scene.relation]
    return out


@torch.no_grad()
def _encode(text_encoder: nn.Module, captions: Sequence[str], batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    sentences, words = [], []
    for start in range(0, len(captions), batch_size):
        feats = text_encoder(list(captions[start : start + batch_size]))
        mask = feats.mask.to(feats.words.dtype)[..., None]
        words.append(((feats.words * mask).sum(1) / mask.sum(1).clamp_min(1)).float().cpu())
        sentences.append(feats.sentence.float().cpu())
    return torch.cat(sentences), torch.cat(words)


def _scenes(split: str, count: int, objects: int, seed: int) -> list[Any]:
    """``count`` scenes with exactly ``objects`` objects from a split (a pure function of the seed)."""
    ds = CaptionedShapes(size=max(count * (2 if objects == 2 else 1) * 3, 8), resolution=8, split=split, seed=seed,
                         max_objects=objects, captions_per_image=1)
    scenes = []
    for i in range(len(ds)):
        attributes = ds.attributes(i)
        if len(attributes.objects) == objects:
            scenes.append((ds, i, attributes))
            if len(scenes) == count:
                return scenes
    raise RuntimeError(f"could not draw {count} scenes with {objects} objects")  # pragma: no cover


def _caption_labels(scenes: Sequence[Any]) -> tuple[list[str], dict[str, list[int]]]:
    """Every template caption of every scene, and per attribute the value index each caption states (-1: none)."""
    captions: list[str] = []
    labels: dict[str, list[int]] = {a: [] for a in PROBE_ATTRIBUTES}
    for _, _, attributes in scenes:
        for caption in dict.fromkeys(captions_for_scene(attributes)):
            stated = parse_caption(caption)
            captions.append(caption)
            for attr in PROBE_ATTRIBUTES:
                if attr == "relation":
                    value = stated.relation
                else:
                    value = getattr(stated.objects[0], attr) if len(stated.objects) == 1 else None
                labels[attr].append(_values(attr).index(value) if value is not None else -1)
    return captions, labels


def _full_caption(scene: Any) -> str:
    return render_caption(TEMPLATES_ONE[1] if len(scene.objects) == 1 else TEMPLATES_TWO[0], scene)


@torch.no_grad()
def _hard_negative_rprecision(
    text_encoder: nn.Module, image_encoder: nn.Module, scenes: Sequence[Any], resolution: int, batch_size: int,
    device: torch.device,
) -> tuple[dict[str, float], dict[str, int], dict[str, float]]:
    hits: dict[str, list[bool]] = {}
    sizes: dict[str, int] = {}
    for start in range(0, len(scenes), batch_size):
        chunk = scenes[start : start + batch_size]
        images = torch.stack([ds.render(i, resolution) for ds, i, _ in chunk]).to(device)
        codes = F.normalize(image_encoder(images)[1].float(), dim=1)  # (b, E)
        for k, (_, _, scene) in enumerate(chunk):
            groups = one_attribute_alternatives(scene)
            captions = [_full_caption(scene)] + [_full_caption(alt) for alts in groups.values() for alt in alts]
            sentence = F.normalize(text_encoder(captions).sentence.float(), dim=1)
            scores = sentence @ codes[k]  # (1 + alternatives,)
            true, offset, beaten_all = scores[0], 1, True
            for attr, alts in groups.items():
                beaten = bool((scores[offset : offset + len(alts)] < true).all())
                hits.setdefault(attr, []).append(beaten)
                sizes[attr] = len(alts) + 1
                beaten_all &= beaten
                offset += len(alts)
            if len(scene.objects) == 1:  # "all": every alternative of every attribute of a one-object caption
                hits.setdefault("all", []).append(beaten_all)
                sizes["all"] = offset
    rate = {a: sum(h) / len(h) for a, h in hits.items()}
    counts = {a: len(h) for a, h in hits.items()}
    chance = {a: 1.0 / sizes[a] for a in hits}
    return rate, counts, chance


def probe_text_features(
    text_encoder: nn.Module,
    image_encoder: nn.Module | None = None,
    *,
    resolution: int | None = None,
    fit_scenes: int = 400,
    eval_scenes: int = 200,
    relation_scenes: int = 100,
    seed: int = 0,
    batch_size: int = 64,
) -> TextProbeReport:
    """Probe how well a text encoder's features separate each CaptionedShapes attribute (module docstring).

    The encoders are used as they are (in eval mode for the duration, no gradients); they must take raw strings.

    Args:
        text_encoder: A text encoder (``TextFeatures`` out), e.g. the DAMSM BiLSTM of a trained run.
        image_encoder: Its DAMSM image encoder (``images -> (regions, code)``), for the hard-negative
            R-precision; ``None`` skips that part.
        resolution: Side at which the held-out images are rendered for the image encoder (default: its
            ``image_size`` attribute, else 64).
        fit_scenes: Training-split one-object scenes whose captions fit the probe (5 captions each).
        eval_scenes: Held-out (test-split) one-object scenes whose captions are classified, and whose images
            are used for the hard-negative R-precision.
        relation_scenes: Two-object scenes per split for the relation probe and its R-precision.
        seed: Seed of the CaptionedShapes scenes.
        batch_size: Captions (and images) per forward pass.

    Returns:
        A [TextProbeReport][fusionblocks.metrics.text_probe.TextProbeReport].

    Raises:
        ValueError: non-positive counts.
    """
    for name, value in (("fit_scenes", fit_scenes), ("eval_scenes", eval_scenes),
                        ("relation_scenes", relation_scenes), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: expected a positive int, got {value!r}")
    modules = [m for m in (text_encoder, image_encoder) if m is not None]
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        fit_one, eval_one = _scenes("train", fit_scenes, 1, seed), _scenes("test", eval_scenes, 1, seed)
        fit_two, eval_two = _scenes("train", relation_scenes, 2, seed), _scenes("test", relation_scenes, 2, seed)
        fit_caps, fit_labels = _caption_labels(fit_one + fit_two)
        eval_caps, eval_labels = _caption_labels(eval_one + eval_two)
        fit_sentence, fit_words = _encode(text_encoder, fit_caps, batch_size)
        eval_sentence, eval_words = _encode(text_encoder, eval_caps, batch_size)
        report = TextProbeReport(sentence={}, words={}, counts={}, chance={})
        for attr in PROBE_ATTRIBUTES:
            fit_y, eval_y = torch.tensor(fit_labels[attr]), torch.tensor(eval_labels[attr])
            fit_keep, eval_keep = fit_y >= 0, eval_y >= 0
            report.sentence[attr] = linear_probe_accuracy(
                fit_sentence[fit_keep], fit_y[fit_keep], eval_sentence[eval_keep], eval_y[eval_keep])
            report.words[attr] = linear_probe_accuracy(
                fit_words[fit_keep], fit_y[fit_keep], eval_words[eval_keep], eval_y[eval_keep])
            report.sentence_centroid[attr] = nearest_centroid_accuracy(
                fit_sentence[fit_keep], fit_y[fit_keep], eval_sentence[eval_keep], eval_y[eval_keep])
            report.words_centroid[attr] = nearest_centroid_accuracy(
                fit_words[fit_keep], fit_y[fit_keep], eval_words[eval_keep], eval_y[eval_keep])
            report.counts[attr] = int(eval_keep.sum())
            report.chance[attr] = 1.0 / len(_values(attr))
        if resolution is None:
            resolution = int(getattr(image_encoder, "image_size", 64) or 64)
        report.settings = {"fit_scenes": fit_scenes, "eval_scenes": eval_scenes, "relation_scenes": relation_scenes,
                           "seed": seed, "fit_split": "train", "eval_split": "test",
                           "probe": "linear (ridge) on L2-normalised features",
                           "word_pooling": "masked mean"}
        if image_encoder is not None:
            device = next(image_encoder.parameters()).device
            rate, counts, chance = _hard_negative_rprecision(
                text_encoder, image_encoder, eval_one + eval_two, resolution, batch_size, device)
            report.hard_negative, report.hard_negative_counts, report.hard_negative_chance = rate, counts, chance
            report.settings.update({"resolution": resolution, "hard_negative_score": "DAMSM sentence cosine"})
        return report
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)
