"""CaptionedShapes: determinism, splits, pixels consistent with the attributes, and the caption grammar."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from fusionblocks.data import (
    COLORS,
    NUM_CLASSES,
    POSITIONS,
    RELATIONS,
    SHAPES,
    SIZES,
    CaptionedShapes,
    SceneAttributes,
    ShapeObject,
    parse_caption,
    position_from_centroid,
)
from fusionblocks.data.captioned_shapes import (
    SIZE_DIAMETERS,
    TEMPLATES_ONE,
    TEMPLATES_TWO,
    captions_for_scene,
    render_caption,
)

R = 64


def test_deterministic_by_seed_and_index():
    a = CaptionedShapes(size=20, resolution=32, seed=3)
    b = CaptionedShapes(size=20, resolution=32, seed=3)
    # out-of-order access gives the same item: item i is a pure function of (seed, i)
    for i in [7, 0, 19, 7]:
        x, y = a[i], b[i]
        assert torch.equal(x["image"], y["image"])
        assert x["caption"] == y["caption"] and x["attributes"] == y["attributes"]
    c = CaptionedShapes(size=20, resolution=32, seed=4)
    assert any(not torch.equal(a[i]["image"], c[i]["image"]) for i in range(20))


def test_splits_are_disjoint():
    train = CaptionedShapes(size=60, resolution=32, split="train", seed=0)
    test = CaptionedShapes(size=60, resolution=32, split="test", seed=0)
    tr = torch.stack([train[i]["image"] for i in range(60)]).flatten(1)
    te = torch.stack([test[i]["image"] for i in range(60)]).flatten(1)
    # no test image equals any train image (continuous jitter makes a collision a bug, e.g. a shared stream)
    assert torch.cdist(te, tr).min() > 0
    assert [train.attributes(i) for i in range(60)] != [test.attributes(i) for i in range(60)]


def test_item_format_and_range():
    ds = CaptionedShapes(size=10, resolution=R, num_scales=3, captions_per_image=3)
    item = ds[1]
    assert item["image"].shape == (3, R, R) and item["image"].dtype == torch.float32
    assert [t.shape[-1] for t in item["images"]] == [16, 32, 64]
    assert item["images"][-1] is item["image"]
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert item["caption"] == ds.captions(1)[item["caption_index"]]
    assert len(ds.captions(1)) == 3
    assert 0 <= item["class_id"] < NUM_CLASSES
    o = item["attributes"].objects[0]
    assert item["class_id"] == SHAPES.index(o.shape) * len(COLORS) + list(COLORS).index(o.color)
    assert item["attributes"] == ds.attributes(1)


def test_captions_change_with_epoch_not_images():
    ds = CaptionedShapes(size=30, resolution=16, captions_per_image=3)
    e0 = [ds[i] for i in range(30)]
    ds.set_epoch(1)
    e1 = [ds[i] for i in range(30)]
    assert all(torch.equal(a["image"], b["image"]) for a, b in zip(e0, e1))
    assert sum(a["caption"] != b["caption"] for a, b in zip(e0, e1)) >= 5


def _object_stats(image: torch.Tensor, cx: float, cy: float, color: tuple[int, int, int]):
    """Coverage of ``color`` within 0.25 W of the object's centre: area, centroid, fill of its bounding box."""
    R = image.shape[-1]
    rgb = (image.numpy().astype(np.float64) + 1) * 127.5
    c = np.asarray(color, dtype=np.float64)
    # per-pixel coverage: projection onto the colour direction (the background is black)
    alpha = np.einsum("chw,c->hw", rgb, c) / c.dot(c)
    yy, xx = np.meshgrid(np.arange(R) + 0.5, np.arange(R) + 0.5, indexing="ij")
    alpha = alpha * ((xx / R - cx) ** 2 + (yy / R - cy) ** 2 <= 0.25**2)
    area = float(alpha.sum())
    mx, my = float((alpha * xx).sum()) / area / R, float((alpha * yy).sum()) / area / R
    m = alpha > 0.5
    bbox = float((xx[m].max() - xx[m].min() + 1) * (yy[m].max() - yy[m].min() + 1))
    return area, (mx, my), area / bbox


def test_attributes_consistent_with_pixels():
    ds = CaptionedShapes(size=60, resolution=R, seed=1)
    fill = {"circle": math.pi / 4, "square": 1.0, "triangle": 0.5}
    area = {  # shape area for diameter d (module docstring geometry), in pixels
        "circle": lambda d: math.pi * (d * R / 2) ** 2,
        "square": lambda d: (0.85 * d * R) ** 2,
        "triangle": lambda d: 3 * math.sqrt(3) / 4 * (0.6 * d * R) ** 2,
    }
    seen_relations = set()
    for i in range(60):
        image, attrs, placed = ds[i]["image"], ds.attributes(i), ds.layout(i)
        centroids = []
        for p, o in zip(placed, attrs.objects):
            assert p.object == o
            # the pixel holding the centre is exactly the palette colour
            px = torch.round((image[:, int(p.cy * R), int(p.cx * R)] + 1) * 127.5)
            assert px.tolist() == list(COLORS[o.color])
            n, (mx, my), ratio = _object_stats(image, p.cx, p.cy, COLORS[o.color])
            assert position_from_centroid(mx, my) == o.position
            # the nearest fill ratio (area / bounding box) identifies the shape; measured at a higher resolution
            # because a small triangle's box is only ~10 pixels tall at 64
            _, _, ratio = _object_stats(ds.render(i, 2 * R), p.cx, p.cy, COLORS[o.color])
            assert min(fill, key=lambda s: abs(fill[s] - ratio)) == o.shape, (i, o, ratio)
            # the measured area is nearest (in log ratio) to the expected area of the true size
            size = min(SIZE_DIAMETERS, key=lambda z: abs(math.log(n / area[o.shape](SIZE_DIAMETERS[z]))))
            assert size == o.size, (i, o, n)
            centroids.append((mx, my))
        if attrs.relation is not None:
            seen_relations.add(attrs.relation)
            (x0, y0), (x1, y1) = centroids
            expected = {"left of": x0 < x1, "right of": x0 > x1, "above": y0 < y1, "below": y0 > y1}
            assert expected[attrs.relation]
    assert seen_relations == set(RELATIONS)


def test_antialiased_edges():
    image = CaptionedShapes(size=1, resolution=R, max_objects=1)[0]["image"]
    values = torch.unique(torch.round((image + 1) * 127.5))
    assert len(values) > 5  # supersampling produces partial-coverage shades, not just background + colour


def test_objects_do_not_overlap_and_stay_inside():
    ds = CaptionedShapes(size=200, resolution=16, seed=2)
    for i in range(200):
        placed = ds.layout(i)
        for p in placed:
            ext = 0.6 * p.diameter  # largest extent of any shape from its centre
            assert 0 <= p.cx - 0.52 * p.diameter and p.cx + 0.52 * p.diameter <= 1
            assert 0 <= p.cy - ext and p.cy + 0.5 * p.diameter <= 1
        if len(placed) == 2:
            a, b = placed
            assert math.hypot(a.cx - b.cx, a.cy - b.cy) > 0.6 * (a.diameter + b.diameter)


_objects = st.builds(
    ShapeObject,
    shape=st.sampled_from(SHAPES),
    color=st.sampled_from(list(COLORS)),
    size=st.sampled_from(SIZES),
    position=st.sampled_from(POSITIONS),
)


def _expected(template: str, scene: SceneAttributes, swap: bool) -> SceneAttributes:
    """What a caption made from ``template`` says: attributes without a placeholder become None."""
    objs = scene.objects[::-1] if swap else scene.objects
    inverse = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
    rel = inverse[scene.relation] if swap else scene.relation
    out = []
    for k, o in enumerate(objs):
        out.append(
            ShapeObject(
                shape=o.shape,
                color=o.color if f"{{color{k}}}" in template else None,
                size=o.size if f"{{size{k}}}" in template else None,
                position=o.position if f"{{pos{k}}}" in template else None,
            )
        )
    return SceneAttributes(objects=tuple(out), relation=rel if "{rel}" in template else None)


@given(obj=_objects)
def test_parse_round_trips_one_object_templates(obj):
    scene = SceneAttributes(objects=(obj,), relation=None)
    for t in TEMPLATES_ONE:
        assert parse_caption(render_caption(t, scene)) == _expected(t, scene, False), t


@given(a=_objects, b=_objects, rel=st.sampled_from(RELATIONS), swap=st.booleans())
def test_parse_round_trips_two_object_templates(a, b, rel, swap):
    scene = SceneAttributes(objects=(a, b), relation=rel)
    for t in TEMPLATES_TWO:
        assert parse_caption(render_caption(t, scene, swap=swap)) == _expected(t, scene, swap), t


def test_parse_examples_from_the_brief():
    assert parse_caption("A small red circle.") == SceneAttributes((ShapeObject("circle", "red", "small", None),))
    assert parse_caption("a large blue square on the left") == SceneAttributes(
        (ShapeObject("square", "blue", "large", "left"),)
    )
    assert parse_caption("a green triangle above a large yellow circle") == SceneAttributes(
        (ShapeObject("triangle", "green", None, None), ShapeObject("circle", "yellow", "large", None)), "above"
    )


@pytest.mark.parametrize(
    "bad",
    ["a red dog", "a small red", "a circle a square a triangle", "above a red circle", "on the left"],
)
def test_parse_rejects_text_outside_the_grammar(bad):
    with pytest.raises(ValueError, match="text"):
        parse_caption(bad)
    assert parse_caption("a fluffy red circle", strict=False).objects[0].color == "red"


def test_dataset_captions_parse_to_consistent_attributes():
    ds = CaptionedShapes(size=40, resolution=8)
    for i in range(40):
        truth = ds.attributes(i)
        for cap in ds.captions(i):
            parsed = parse_caption(cap)
            order = {(o.shape, o.color): o for o in truth.objects}
            for o in parsed.objects:
                t = order[(o.shape, o.color)]
                assert o.size in (None, t.size) and o.position in (None, t.position)
        assert set(ds.captions(i)) <= set(captions_for_scene(truth))


def test_caption_bank():
    ds = CaptionedShapes(size=7, resolution=8, captions_per_image=2)
    caps, image_index, class_ids = ds.caption_bank()
    assert len(caps) == 14 and image_index.tolist() == [i // 2 for i in range(14)]
    assert caps[5] == ds.captions(2)[1] and class_ids[5] == ds[2]["class_id"]
    assert ds.all_captions()[3] == ds.captions(3)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="split"):
        CaptionedShapes(split="dev")
    with pytest.raises(ValueError, match="max_objects"):
        CaptionedShapes(max_objects=3)
    with pytest.raises(ValueError, match="resolution"):
        CaptionedShapes(resolution=0)
    with pytest.raises(IndexError, match="index"):
        CaptionedShapes(size=3)[3]


def test_generation_is_fast():
    ds = CaptionedShapes(size=1000, resolution=64)
    t = time.perf_counter()
    for i in range(1000):
        ds[i]
    assert time.perf_counter() - t < 8.0  # ~0.5 s measured; generous for shared 2-core machines


def test_cache_gives_the_same_items_and_is_not_changed_by_callers():
    plain = CaptionedShapes(size=12, resolution=16, num_scales=2, max_objects=2, hard_negatives=2)
    cached = CaptionedShapes(size=12, resolution=16, num_scales=2, max_objects=2, hard_negatives=2, cache=True)
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for i in range(12):
            a, b = plain[i], cached[i]
            assert a["caption"] == b["caption"] and a["negative_captions"] == b["negative_captions"]
            assert torch.equal(a["image"], b["image"]) and all(map(torch.equal, a["images"], b["images"]))
            assert b["images"][-1] is b["image"]  # as without the cache: the top level is the image itself
            b["image"].fill_(7.0)  # a caller writing into its item does not reach the cache
            b["images"][0].fill_(7.0)
    assert len(cached._cached) == 12 and not plain._cached
    assert "cache=True" in repr(cached) and "cache" not in repr(plain)
    with pytest.raises(ValueError, match="cache"):
        CaptionedShapes(size=5, cache="yes")  # type: ignore[arg-type]
