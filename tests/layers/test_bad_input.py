"""Bad input raises a clear error naming the argument."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.layers import (
    GLU,
    GSR,
    ConditioningAugmentation,
    DFAffine,
    FFBlock,
    ImageHead,
    ResBlockGLU,
    SpatialAffine,
    UpBlock,
    WordContextAttention,
)


@pytest.fixture
def attention() -> WordContextAttention:
    return WordContextAttention(8, 6)


def inputs(b: int = 2, t: int = 4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return torch.randn(b, 8, 3, 3), torch.randn(b, t, 6), torch.ones(b, t, dtype=torch.bool)


def test_wrong_rank(attention: WordContextAttention) -> None:
    x, words, mask = inputs()
    with pytest.raises(ValueError, match=r"^x: expected a 4-D tensor"):
        attention(x[:, :, 0], words, mask)
    with pytest.raises(ValueError, match=r"^words: expected a 3-D tensor"):
        attention(x, words[:, 0], mask)


def test_wrong_channel_count(attention: WordContextAttention) -> None:
    x, words, mask = inputs()
    with pytest.raises(ValueError, match=r"^x: expected 8 channels"):
        attention(torch.randn(2, 7, 3, 3), words, mask)
    with pytest.raises(ValueError, match=r"^words: expected word features \(B, T, 6\)"):
        attention(x, torch.randn(2, 4, 5), mask)


def test_batch_mismatch_between_image_and_words(attention: WordContextAttention) -> None:
    x, _, _ = inputs()
    _, words, mask = inputs(b=3)
    with pytest.raises(ValueError, match=r"^words: batch size mismatch \(x=2, words=3\)"):
        attention(x, words, mask)


def test_mask_shape_mismatch(attention: WordContextAttention) -> None:
    x, words, _ = inputs()
    with pytest.raises(ValueError, match=r"^mask: expected shape \(2, 4\)"):
        attention(x, words, torch.ones(2, 5, dtype=torch.bool))


def test_caption_without_real_token(attention: WordContextAttention) -> None:
    x, words, mask = inputs()
    mask[1] = False
    with pytest.raises(ValueError, match=r"^mask: caption\(s\) at batch index \[1\] have no real token"):
        attention(x, words, mask)


def test_caption_without_real_token_is_allowed_when_not_masking() -> None:
    """The official unmasked behaviour never looks at the mask values, so an empty row is harmless there."""
    x, words, mask = inputs()
    mask[1] = False
    assert WordContextAttention(8, 6, mask_padding=False)(x, words, mask).shape == x.shape


def test_non_bool_mask(attention: WordContextAttention) -> None:
    x, words, mask = inputs()
    with pytest.raises(TypeError, match=r"^mask: expected dtype torch.bool"):
        attention(x, words, mask.long())


def test_non_tensor_input(attention: WordContextAttention) -> None:
    x, words, mask = inputs()
    with pytest.raises(TypeError, match=r"^words: expected a torch.Tensor"):
        attention(x, words.tolist(), mask)


def test_ffblock_validates_through_its_attention() -> None:
    x, words, mask = inputs()
    with pytest.raises(ValueError, match=r"^mask:"):
        FFBlock(8, 6)(x, words, mask[:, :3])


def test_spatial_affine_bad_cond() -> None:
    m = SpatialAffine(8, cond_channels=4)
    with pytest.raises(ValueError, match=r"^cond: expected 4 channels"):
        m(torch.randn(2, 8, 3, 3), torch.randn(2, 8, 3, 3))
    with pytest.raises(ValueError, match=r"^cond: expected the spatial size"):
        m(torch.randn(2, 8, 3, 3), torch.randn(2, 4, 6, 6))
    with pytest.raises(ValueError, match=r"^cond: batch size mismatch"):
        m(torch.randn(2, 8, 3, 3), torch.randn(1, 4, 3, 3))


def test_gsr_bad_sentence() -> None:
    m = GSR(8, 6)
    with pytest.raises(ValueError, match=r"^sentence: expected sentence features \(B, 6\)"):
        m(torch.randn(2, 8, 3, 3), torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"^sentence: expected a 2-D tensor"):
        m(torch.randn(2, 8, 3, 3), torch.randn(2, 1, 6))
    with pytest.raises(ValueError, match=r"^sentence: batch size mismatch"):
        m(torch.randn(2, 8, 3, 3), torch.randn(3, 6))


def test_df_affine_bad_cond() -> None:
    m = DFAffine(8, 6)
    with pytest.raises(ValueError, match=r"^cond: expected a condition vector \(B, 6\)"):
        m(torch.randn(2, 8, 3, 3), torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"^cond: batch size mismatch"):
        m(torch.randn(2, 8, 3, 3), torch.randn(3, 6))


def test_ca_bad_sentence() -> None:
    with pytest.raises(ValueError, match=r"^sentence: expected sentence features \(B, 12\)"):
        ConditioningAugmentation(12, 4)(torch.randn(2, 11))
    with pytest.raises(TypeError, match=r"^sentence: expected a floating-point tensor"):
        ConditioningAugmentation(12, 4)(torch.ones(2, 12, dtype=torch.long))


def test_glu_odd_channels() -> None:
    with pytest.raises(ValueError, match=r"^x: expected \(B, 2C, \.\.\.\) with an even channel count"):
        GLU()(torch.randn(2, 5, 3, 3))


@pytest.mark.parametrize("module", [UpBlock(8, 4), ResBlockGLU(8), ImageHead(8)])
def test_building_blocks_check_channels(module: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match=r"^x: expected 8 channels"):
        module(torch.randn(2, 7, 4, 4))


@pytest.mark.parametrize(
    ("factory", "argument"),
    [
        (lambda: WordContextAttention(0, 6), "channels"),
        (lambda: WordContextAttention(8, -1), "word_dim"),
        (lambda: SpatialAffine(8, hidden_channels=0), "hidden_channels"),
        (lambda: GSR(8, True), "sentence_dim"),
        (lambda: DFAffine(8, 2.5), "cond_dim"),
        (lambda: ConditioningAugmentation(cond_dim=0), "cond_dim"),
        (lambda: UpBlock(8, 0), "out_channels"),
    ],
)
def test_bad_constructor_arguments(factory, argument: str) -> None:
    with pytest.raises(ValueError, match=rf"^{argument}: expected a positive integer"):
        factory()
