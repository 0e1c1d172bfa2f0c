"""Hard negative captions: every alternative parses, differs from the caption in exactly one stated attribute,
and is false for the image the caption describes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fusionblocks.data import CaptionedShapes, collate_captions
from fusionblocks.data.shapes import (
    caption_alternatives,
    captions_for_scene,
    mirrored_caption,
    parse_caption,
    render_caption,
    sample_hard_negatives,
    sample_scene,
)


def _differences(a, b) -> list[str]:
    """Attributes that differ between two parsed captions (same object order)."""
    out = []
    assert len(a.objects) == len(b.objects)
    for x, y in zip(a.objects, b.objects):
        out += [attr for attr in ("color", "size", "shape", "position") if getattr(x, attr) != getattr(y, attr)]
    if a.relation != b.relation:
        out.append("relation")
    return out


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), objects=st.sampled_from([1, 2]))
def test_every_alternative_changes_exactly_one_stated_attribute(seed, objects):
    scene, _ = sample_scene(np.random.default_rng(seed), objects)
    for caption in captions_for_scene(scene):
        stated = parse_caption(caption)
        groups = caption_alternatives(caption)
        assert groups
        for attribute, alternatives in groups.items():
            assert len(alternatives) == len(set(alternatives))
            for alternative in alternatives:
                assert _differences(stated, parse_caption(alternative)) == [attribute]


def test_alternatives_of_a_full_caption_cover_every_value():
    groups = caption_alternatives("a small red circle on the left")
    assert {a: len(c) for a, c in groups.items()} == {"size": 1, "color": 5, "shape": 2, "position": 4}
    assert "a small red circle at the top" in groups["position"]
    assert "a large red circle on the left" in groups["size"]
    # a caption that leaves size and position out has no alternatives for them
    assert set(caption_alternatives("a red circle")) == {"color", "shape"}
    # "big" and "in the middle" are synonyms the parser accepts; they are changed too
    assert "a small red circle in the center" not in caption_alternatives("a big red circle in the middle")["size"]
    assert "a small red circle in the middle" in caption_alternatives("a big red circle in the middle")["size"]
    two = caption_alternatives("a red circle to the left of a blue square")
    assert sorted(two["relation"]) == sorted([
        "a red circle to the right of a blue square", "a red circle above a blue square",
        "a red circle below a blue square"])


def test_sampling_is_balanced_over_attributes_and_without_replacement():
    rng = np.random.default_rng(0)
    caption = "a small red circle on the left"
    drawn = sample_hard_negatives(caption, 12, rng)  # exactly the 12 alternatives, each once
    assert sorted(drawn) == sorted(c for group in caption_alternatives(caption).values() for c in group)
    counts = {"size": 0, "color": 0, "shape": 0, "position": 0}
    for _ in range(400):
        (negative,) = sample_hard_negatives(caption, 1, rng)
        counts[_differences(parse_caption(caption), parse_caption(negative))[0]] += 1
    assert all(70 < c < 130 for c in counts.values()), counts  # uniform over the 4 attributes
    more = sample_hard_negatives("a large blue square", 10, rng)  # 8 alternatives: all of them, then repeats
    assert len(more) == 10 and len(set(more)) == 8


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (True, ValueError), (1.5, ValueError)])
def test_bad_count_is_named(bad, error):
    with pytest.raises(error, match="count"):
        sample_hard_negatives("a red circle", bad, np.random.default_rng(0))


def test_caption_without_attributes_is_refused():
    with pytest.raises(ValueError, match="caption"):
        caption_alternatives("there is a")
    with pytest.raises(TypeError, match="caption"):
        caption_alternatives(3)  # type: ignore[arg-type]


def test_dataset_items_carry_negatives_that_are_false_for_their_image():
    ds = CaptionedShapes(size=40, resolution=16, max_objects=2, hard_negatives=3)
    for i in range(len(ds)):
        item = ds[i]
        negatives = item["negative_captions"]
        assert len(negatives) == 3
        truth = ds.attributes(i)
        true_captions = set(captions_for_scene(truth))
        assert item["caption"] in true_captions
        assert not true_captions & set(negatives)
        for negative in negatives:
            assert len(_differences(parse_caption(item["caption"]), parse_caption(negative))) == 1
    batch = collate_captions([ds[0], ds[1]])
    assert [len(n) for n in batch["negative_captions"]] == [3, 3]


def test_negatives_are_reproducible_and_change_with_the_epoch():
    a = CaptionedShapes(size=30, resolution=8, max_objects=1, hard_negatives=2)
    b = CaptionedShapes(size=30, resolution=8, max_objects=1, hard_negatives=2)
    first = [a[i]["negative_captions"] for i in range(30)]
    assert first == [b[i]["negative_captions"] for i in range(30)]
    a.set_epoch(1)
    assert first != [a[i]["negative_captions"] for i in range(30)]


def test_negatives_off_leaves_items_unchanged():
    plain = CaptionedShapes(size=5, resolution=8)
    with_neg = CaptionedShapes(size=5, resolution=8, hard_negatives=2)
    for i in range(5):
        x, y = plain[i], with_neg[i]
        assert "negative_captions" not in x
        assert x["caption"] == y["caption"] and (x["image"] == y["image"]).all()
    with pytest.raises(ValueError, match="hard_negatives"):
        CaptionedShapes(size=5, hard_negatives=-1)
    assert "hard_negatives=2" in repr(with_neg) and "hard_negatives" not in repr(plain)



def test_negatives_reach_the_recipes_train_batch():
    import torch

    from fusionblocks.train.batches import to_train_batch

    ds = CaptionedShapes(size=4, resolution=16, num_scales=2, hard_negatives=2)
    batch = to_train_batch(collate_captions([ds[i] for i in range(4)]), [8, 16], torch.device("cpu"))
    assert batch.negative_captions == [ds[i]["negative_captions"] for i in range(4)]
    plain = CaptionedShapes(size=4, resolution=16, num_scales=2)
    assert to_train_batch(collate_captions([plain[i] for i in range(4)]), [8, 16], torch.device("cpu")).negative_captions is None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_mirrored_caption_describes_the_mirror_scene(seed):
    """Reversing the relation gives the caption of the scene with the objects swapped in place: the same caption
    as mentioning the objects the other way round (``render_caption(swap=True)``) with the relation kept."""
    from dataclasses import replace

    from fusionblocks.data.shapes import INVERSE_RELATION, TEMPLATES_TWO

    scene, _ = sample_scene(np.random.default_rng(seed), 2)
    if scene.relation is None:
        return
    mirror = replace(scene, relation=INVERSE_RELATION[scene.relation])
    for template in TEMPLATES_TWO:
        caption = render_caption(template, scene)
        if parse_caption(caption).relation is None:  # the "and" template states no relation
            assert mirrored_caption(caption) is None
            continue
        assert mirrored_caption(caption) == render_caption(template, mirror)
        assert mirrored_caption(caption) in caption_alternatives(caption)["relation"]
        assert mirrored_caption(mirrored_caption(caption)) == caption


def test_mirrored_caption_of_captions_without_relation():
    assert mirrored_caption("a small red circle on the left") is None
    assert mirrored_caption("A red circle, ABOVE a blue square!") == "a red circle below a blue square"
    with pytest.raises(TypeError, match="caption"):
        mirrored_caption(None)  # type: ignore[arg-type]


def test_mirror_first_puts_the_mirrored_caption_first():
    caption = "a small red circle to the left of a large blue square"
    mirrored = "a small red circle to the right of a large blue square"
    for seed in range(20):
        drawn = sample_hard_negatives(caption, 3, np.random.default_rng(seed), mirror_first=True)
        assert drawn[0] == mirrored and len(drawn) == 3
        # the rest are drawn as without the option, from the same stream
        assert drawn[1:] == sample_hard_negatives(caption, 2, np.random.default_rng(seed))
    assert sample_hard_negatives(caption, 1, np.random.default_rng(0), mirror_first=True) == [mirrored]
    # captions without a relation: the option changes nothing
    one = "a small red circle on the left"
    assert sample_hard_negatives(one, 4, np.random.default_rng(5), mirror_first=True) == sample_hard_negatives(
        one, 4, np.random.default_rng(5))


def test_dataset_mirror_negatives():
    plain = CaptionedShapes(size=40, resolution=8, max_objects=2, hard_negatives=2)
    mirror = CaptionedShapes(size=40, resolution=8, max_objects=2, hard_negatives=2, mirror_negatives=True)
    relations = 0
    for i in range(40):
        a, b = plain[i], mirror[i]
        assert a["caption"] == b["caption"]
        expected = mirrored_caption(b["caption"])
        if expected is None:
            assert a["negative_captions"] == b["negative_captions"]
        else:
            relations += 1
            assert b["negative_captions"][0] == expected
    assert relations >= 5
    assert "mirror_negatives=True" in repr(mirror) and "mirror" not in repr(plain)
    with pytest.raises(ValueError, match="mirror_negatives"):
        CaptionedShapes(size=5, mirror_negatives=True)  # needs hard negatives
    with pytest.raises(ValueError, match="mirror_negatives"):
        CaptionedShapes(size=5, hard_negatives=1, mirror_negatives=1)  # type: ignore[arg-type]

