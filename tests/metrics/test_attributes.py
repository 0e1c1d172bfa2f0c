"""CaptionedShapes attribute judge: segmentation, the shape classifier (and its own accuracy), and verdicts on real
images, noise, wrong captions and images with one attribute changed on purpose."""

from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.data.captioned_shapes import (
    SIZE_DIAMETERS,
    SQUARE_SIDE,
    TRIANGLE_CIRCUMRADIUS,
    render_scene,
)
from fusionblocks.metrics import load_or_train_shape_classifier, segment_objects, size_thresholds
from fusionblocks.metrics.shapes_segmentation import connected_components


def _bfs_components(mask: np.ndarray) -> np.ndarray:
    labels = -np.ones(mask.shape, dtype=int)
    count = 0
    for start in zip(*np.nonzero(mask)):
        if labels[start] >= 0:
            continue
        labels[start] = count
        queue = collections.deque([start])
        while queue:
            y, x = queue.popleft()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    v, u = y + dy, x + dx
                    if 0 <= v < mask.shape[0] and 0 <= u < mask.shape[1] and mask[v, u] and labels[v, u] < 0:
                        labels[v, u] = count
                        queue.append((v, u))
        count += 1
    return labels


@given(st.integers(0, 10_000), st.floats(0.2, 0.6))
def test_connected_components_partition_like_a_flood_fill(seed, density):
    rng = np.random.default_rng(seed)
    masks = rng.random((3, 11, 13)) < density
    ours = connected_components(torch.from_numpy(masks)).numpy()
    for b in range(3):
        reference = _bfs_components(masks[b])
        assert ((ours[b] == 0) == ~masks[b]).all()
        pairs = set(zip(reference[masks[b]].tolist(), ours[b][masks[b]].tolist()))
        assert len(pairs) == len(set(reference[masks[b]].tolist())) == len(set(ours[b][masks[b]].tolist()))


def _area(shape: str, diameter: float) -> float:
    if shape == "circle":
        return math.pi / 4 * diameter**2
    if shape == "square":
        return (SQUARE_SIDE * diameter) ** 2
    return 3 * math.sqrt(3) / 4 * (TRIANGLE_CIRCUMRADIUS * diameter) ** 2


def test_size_thresholds_separate_the_rendered_sizes():
    for shape, threshold in size_thresholds().items():
        assert _area(shape, SIZE_DIAMETERS["small"] + 0.01) < threshold < _area(shape, SIZE_DIAMETERS["large"] - 0.01)


def test_measured_centroid_area_and_colour_follow_the_layout(real_shapes):
    ds, images, _ = real_shapes
    seg = segment_objects(images[:20], k=2)
    names = ["background", "red", "green", "blue", "yellow", "magenta", "cyan"]
    for i in range(20):
        layout = ds.layout(i)
        assert int(seg.valid[i].sum()) == len(layout)
        for j in range(len(layout)):
            cx, cy = seg.centroid[i, j].tolist()
            placed = min(layout, key=lambda p: (p.cx - cx) ** 2 + (p.cy - cy) ** 2)
            assert abs(placed.cx - cx) < 1.5 / 64 and abs(placed.cy - cy) < 1.5 / 64
            # within 20 %: boundary pixels count when over about half covered (small triangles: ~ +13 % at 64²)
            assert seg.area[i, j].item() == pytest.approx(_area(placed.object.shape, placed.diameter), rel=0.2)
            assert names[int(seg.color[i, j])] == placed.object.color


def test_shape_classifier_is_accurate_on_real_held_out_images_and_caches(shape_classifier_file):
    path, model, report = shape_classifier_file
    assert report.heldout_accuracy >= 0.99 and report.heldout_count >= 250 and report.source == "trained"
    assert path.exists()
    loaded, loaded_report = load_or_train_shape_classifier(path, num_heldout=150, seed=3)
    assert loaded_report.source == str(path) and loaded_report.heldout_accuracy >= 0.99
    crops = torch.rand(5, 1, 24, 24)
    torch.testing.assert_close(loaded(crops), model(crops))


def test_real_images_are_judged_correct(attribute_judge, real_shapes):
    _, images, captions = real_shapes
    result = attribute_judge(images, captions)
    assert result.num_images == len(captions) and result.unparsed == 0
    assert result.all_correct >= 0.95
    for attr, accuracy in result.accuracy.items():
        assert result.stated[attr] > 0 and accuracy >= 0.97, attr
    judge = result.judge
    assert judge["shape_classifier_heldout_accuracy"] >= 0.99
    assert judge["judge_self_check"]["all_correct"] >= 0.95  # the judge is checked on real images too


def test_noise_and_wrong_captions_score_near_chance(attribute_judge, real_shapes):
    _, images, captions = real_shapes
    noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    on_noise = attribute_judge(noise, captions)
    assert on_noise.all_correct <= 0.1
    assert on_noise.accuracy["color"] <= 0.4  # 6 colours: chance 1/6
    shuffled = attribute_judge(images, captions[7:] + captions[:7])
    assert shuffled.all_correct <= 0.3


def test_a_changed_attribute_is_caught_and_only_that_one(attribute_judge):
    caption = "a large red circle on the left"
    from fusionblocks.data.captioned_shapes import PlacedObject, ShapeObject

    good = PlacedObject(ShapeObject("circle", "red", "large", "left"), cx=0.25, cy=0.5, diameter=0.36)
    variants = {
        None: good,
        "color": dataclasses.replace(good, object=ShapeObject("circle", "blue", "large", "left")),
        "size": dataclasses.replace(good, diameter=0.18),
        "position": dataclasses.replace(good, cx=0.75),
        "shape": dataclasses.replace(good, object=ShapeObject("square", "red", "large", "left")),
    }
    images = torch.stack([render_scene([p], 64) for p in variants.values()])
    measured = attribute_judge.measure(images)
    for (changed, _), objects in zip(variants.items(), measured):
        result = attribute_judge(render_scene([variants[changed]], 64)[None], [caption])
        for attr in ("color", "size", "position", "shape"):
            assert result.accuracy[attr] == (0.0 if attr == changed else 1.0), (changed, attr, objects)


def test_unparseable_captions_are_counted_not_judged(attribute_judge, real_shapes):
    _, images, captions = real_shapes
    result = attribute_judge(images[:2], ["a purple hexagon", captions[1]])
    assert result.unparsed == 1 and result.num_images == 1
    with pytest.raises(ValueError, match="captions"):
        attribute_judge(images[:2], ["one caption"])


def test_shape_classifier_trains_under_no_grad() -> None:
    """evaluate() runs under torch.no_grad; training the judge's classifier there must still work."""
    import torch

    from fusionblocks.metrics.shape_classifier import train_shape_classifier

    with torch.no_grad():
        model, report = train_shape_classifier(num_train=64, num_heldout=16, epochs=1)
        assert not torch.is_grad_enabled()  # the caller's grad mode is restored
    assert report.train_count > 0
    assert all(p.requires_grad for p in model.parameters())


def test_the_judge_reads_real_images_at_the_demo_resolution(shape_classifier_file):
    """The judge's own accuracy on real renders at 32² (the demo's size), one-object scenes: every attribute."""
    from fusionblocks.metrics import AttributeJudge

    _, model, report = shape_classifier_file
    judge = AttributeJudge(model, report, self_check_images=40, self_check_resolution=32)
    assert judge.judge_info["judge_self_check"]["resolution"] == 32
    check = judge.check_on_real(60, resolution=32, max_objects=1, seed=3)
    assert check.num_images == 60 and check.judge["resolution"] == 32
    for attribute in ("color", "size", "shape", "position"):
        assert check.accuracy[attribute] >= 0.95, (attribute, check.accuracy)
    assert check.stated["relation"] == 0


def test_attribute_table_rows_counts_and_chance():
    from fusionblocks.metrics.attribute_judge import AttributeAccuracy
    from fusionblocks.metrics.attribute_report import attribute_table, chance_levels, format_attribute_table

    nan = float("nan")
    generated = AttributeAccuracy(
        accuracy={"color": 0.75, "position": 0.5, "size": nan, "shape": 1.0, "relation": nan},
        stated={"color": 4, "position": 2, "size": 0, "shape": 4, "relation": 0}, all_correct=0.25, num_images=4)
    real = AttributeAccuracy(
        accuracy={"color": 1.0, "position": 1.0, "size": 1.0, "shape": 0.9, "relation": nan},
        stated={"color": 10, "position": 8, "size": 8, "shape": 10, "relation": 0}, all_correct=0.9, num_images=10)
    rows = attribute_table(generated, real)
    assert list(rows) == ["color", "position", "shape", "all_correct"]  # unstated attributes have no row
    assert rows["color"] == {"accuracy": 0.75, "correct": 3, "count": 4, "chance": 1 / 6, "judge_on_real": 1.0,
                             "judge_on_real_count": 10}
    assert rows["shape"]["chance"] == 1 / 3 and rows["all_correct"]["correct"] == 1
    assert chance_levels() == {"color": 1 / 6, "position": 1 / 5, "size": 1 / 2, "shape": 1 / 3, "relation": 1 / 4}
    text = format_attribute_table(rows)
    assert "75% (3/4)" in text and "17%" in text and "90% (n=10)" in text
    assert "judge_on_real" not in attribute_table(generated)["color"]


def test_colour_is_read_from_the_hue_not_the_brightness(attribute_judge):
    """A dim yellow object (half brightness, as under-saturated or antialiased pixels are) is yellow, although
    each of its pixels is nearer to green than to yellow in RGB distance."""
    from fusionblocks.data import CaptionedShapes
    from fusionblocks.data.shapes import COLORS
    from fusionblocks.metrics.shapes_segmentation import hue_labels, palette_labels

    ds = CaptionedShapes(size=40, resolution=32, split="test", max_objects=1, seed=5)
    index = next(i for i in range(40) if ds.attributes(i).objects[0].color == "yellow")
    image = ds.render(index)[None]
    dim = (image + 1) * 0.5 - 1  # every pixel at half its brightness over black
    core = image[0].amax(0) > 0.5
    names = list(COLORS)
    assert names[int(hue_labels(dim)[0][core].mode().values) - 1] == "yellow"
    assert int(palette_labels(dim)[0][core].mode().values) - 1 == names.index("green")  # what RGB distance says
    assert attribute_judge.measure(dim)[0][0].color == "yellow"
    for name in names:  # every pure palette colour is its own hue
        pixel = torch.tensor(COLORS[name], dtype=torch.float32).view(1, 3, 1, 1) / 127.5 - 1
        assert names[int(hue_labels(pixel)) - 1] == name
