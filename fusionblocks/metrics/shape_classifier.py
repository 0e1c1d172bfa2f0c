"""A small CNN that names the shape (circle / square / triangle) of a segmented CaptionedShapes object from its
mask crop; trained in seconds on CPU from rendered images, cached to a user-given file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from ..data.shapes import SHAPES, CaptionedShapes
from .shapes_segmentation import CROP_SIZE, segment_objects

__all__ = ["ShapeClassifier", "ShapeClassifierReport", "train_shape_classifier", "load_or_train_shape_classifier",
           "shape_crops_from_dataset", "WORKING_RESOLUTION"]

#: Images are resized to this side before segmentation (by the judge and for the classifier's training data).
WORKING_RESOLUTION = 64


def to_working_resolution(images: torch.Tensor, resolution: int = WORKING_RESOLUTION) -> torch.Tensor:
    """Resize ``(B, 3, H, W)`` images to ``resolution``² (bilinear, antialiased when shrinking)."""
    if tuple(images.shape[-2:]) == (resolution, resolution):
        return images.float()
    size = (resolution, resolution)
    return F.interpolate(images.float(), size=size, mode="bilinear", align_corners=False, antialias=True)


class ShapeClassifier(nn.Module):
    """Three convolutions and a linear layer over a 24×24 object mask crop → logits over ``SHAPES``.

    Shapes:
        - crops: ``(N, 1, 24, 24)`` in ``[0, 1]``; output logits ``(N, 3)``.
    """

    def __init__(self, num_classes: int = 3, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(2 * width * (CROP_SIZE // 4) ** 2, num_classes)
        self.num_classes = num_classes
        self.width = width

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Shape logits of mask crops; see the class docstring for shapes."""
        if crops.ndim != 4 or tuple(crops.shape[1:]) != (1, CROP_SIZE, CROP_SIZE):
            raise ValueError(f"crops: expected (N, 1, {CROP_SIZE}, {CROP_SIZE}), got {tuple(crops.shape)}")
        return self.head(self.features(crops).flatten(1))


@dataclass(frozen=True)
class ShapeClassifierReport:
    """How the classifier was made and how well it does on real held-out images.

    Attributes:
        heldout_accuracy: Accuracy on objects of held-out CaptionedShapes images (``val`` split).
        heldout_count: Number of held-out objects.
        train_count: Number of training crops (0 when loaded from a cache file without that record).
        source: ``"trained"`` or the cache path it was loaded from.
    """

    heldout_accuracy: float
    heldout_count: int
    train_count: int
    source: str


def shape_crops_from_dataset(
    split: str, num_images: int, resolutions: Sequence[int], seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask crops and shape labels of the objects of rendered CaptionedShapes images (one object per image), made
    exactly as the judge makes them (render at each resolution → resize to the working resolution → segment).

    Shapes:
        - output: crops ``(N, 1, 24, 24)``, labels ``(N,)`` long with ``N = num_images`` (rounded per resolution).
    """
    crops, labels = [], []
    per = max(1, num_images // len(resolutions))
    for k, resolution in enumerate(resolutions):
        ds = CaptionedShapes(size=per, resolution=int(resolution), split=split, seed=seed + k, max_objects=1)
        images = torch.stack([ds.render(i) for i in range(per)])
        seg = segment_objects(to_working_resolution(images), k=1)
        keep = seg.valid[:, 0]
        crops.append(seg.crops[:, 0][keep])
        labels.append(torch.tensor([SHAPES.index(ds.attributes(i).objects[0].shape) for i in range(per)])[keep])
    return torch.cat(crops), torch.cat(labels)


def _augment(crops: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Label-preserving flips and 90° rotations (a rotated triangle is still a triangle) plus light pixel noise."""
    out = crops
    if torch.rand((), generator=generator) < 0.5:
        out = out.flip(-1)
    if torch.rand((), generator=generator) < 0.5:
        out = out.flip(-2)
    if torch.rand((), generator=generator) < 0.5:
        out = out.transpose(-1, -2)
    noise = (torch.rand(out.shape, generator=generator) < 0.02).float()
    return (out + noise * (1 - 2 * out)).clamp(0, 1)


def _accuracy(model: ShapeClassifier, crops: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(crops).argmax(-1) == labels).float().mean())


def train_shape_classifier(
    num_train: int = 900,
    num_heldout: int = 300,
    epochs: int = 8,
    seed: int = 0,
    resolutions: Sequence[int] = (32, 48, 64),
) -> tuple[ShapeClassifier, ShapeClassifierReport]:
    """Train [`ShapeClassifier`][fusionblocks.metrics.shape_classifier.ShapeClassifier] on rendered ``train``-split
    objects; report accuracy on ``val``-split ones.

    Takes a few seconds on a CPU.

    Shapes:
        - returns the model (eval mode) and a
          [`ShapeClassifierReport`][fusionblocks.metrics.shape_classifier.ShapeClassifierReport].
    """
    torch_state = torch.random.get_rng_state()
    threads = torch.get_num_threads()
    grad_mode = torch.is_grad_enabled()
    try:
        torch.set_grad_enabled(True)  # callers (e.g. evaluate) may run under torch.no_grad
        torch.set_num_threads(1)  # these tiny convolutions run faster on one thread than on contended several
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        crops, labels = shape_crops_from_dataset("train", num_train, resolutions, seed=seed)
        model = ShapeClassifier()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        batch = 64
        for _epoch in range(epochs):
            order = torch.randperm(crops.shape[0], generator=generator)
            for start in range(0, crops.shape[0], batch):
                idx = order[start : start + batch]
                loss = F.cross_entropy(model(_augment(crops[idx], generator)), labels[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        model.eval()
        held_crops, held_labels = shape_crops_from_dataset("val", num_heldout, resolutions, seed=seed + 1000)
        report = ShapeClassifierReport(
            heldout_accuracy=_accuracy(model, held_crops, held_labels),
            heldout_count=int(held_labels.numel()),
            train_count=int(labels.numel()),
            source="trained",
        )
    finally:
        torch.random.set_rng_state(torch_state)
        torch.set_num_threads(threads)
        torch.set_grad_enabled(grad_mode)
    return model, report


def load_or_train_shape_classifier(
    path: str | os.PathLike[str] | None = None, *, num_heldout: int = 300, seed: int = 0
) -> tuple[ShapeClassifier, ShapeClassifierReport]:
    """Load the classifier cached at ``path`` (safetensors) or train it and save it there.

    A loaded classifier is re-checked on ``num_heldout`` freshly rendered held-out objects, so the reported accuracy
    always belongs to the weights in use.

    Shapes:
        - returns ``(model, report)``.
    """
    if path is not None and os.path.isfile(os.fspath(path)):
        state = load_file(os.fspath(path))
        model = ShapeClassifier()
        model.load_state_dict(state)
        model.eval()
        held_crops, held_labels = shape_crops_from_dataset("val", num_heldout, (32, 48, 64), seed=seed + 1000)
        meta_path = os.fspath(path) + ".json"
        train_count = 0
        if os.path.isfile(meta_path):
            with open(meta_path, encoding="utf-8") as handle:
                train_count = int(json.load(handle).get("train_count", 0))
        return model, ShapeClassifierReport(
            heldout_accuracy=_accuracy(model, held_crops, held_labels),
            heldout_count=int(held_labels.numel()),
            train_count=train_count,
            source=os.fspath(path),
        )
    model, report = train_shape_classifier(num_heldout=num_heldout, seed=seed)
    if path is not None:
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.fspath(path))
        with open(os.fspath(path) + ".json", "w", encoding="utf-8") as handle:
            json.dump({"train_count": report.train_count, "heldout_accuracy": report.heldout_accuracy}, handle)
    return model, report
