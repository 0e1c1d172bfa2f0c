"""Parameter counts against docs/ffgan.md "Parameter counts" (FF-GAN CUB generator) and "DF-GAN" (G_Blocks)."""

from __future__ import annotations

import pytest
from torch import nn

from fusionblocks.layers import (
    GSR,
    ConditioningAugmentation,
    DFBlock,
    FFBlock,
    ImageHead,
    ResBlockGLU,
    SpatialAffine,
    UpBlock,
    WordContextAttention,
)

from ._helpers import n_params


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (lambda: ConditioningAugmentation(256, 100), 102_800),  # CA_NET
        (lambda: UpBlock(1024, 512), 9_439_232),  # upsample1
        (lambda: UpBlock(512, 256), 2_360_320),
        (lambda: UpBlock(256, 128), 590_336),
        (lambda: UpBlock(128, 64), 147_712),  # upsample4 and the refinement stage's upBlock
        (lambda: WordContextAttention(64, 256), 16_384),
        (lambda: SpatialAffine(64), 221_184),  # ACM
        (lambda: GSR(64, 256), 16_384),  # SentenceAttention proj
        (lambda: ResBlockGLU(128), 443_136),
        (lambda: ImageHead(64), 1_728),  # GET_IMAGE_G
        (lambda: FFBlock(64, 256), 16_384 + 221_184),
    ],
)
def test_ffgan_block_parameter_counts(module, expected: int) -> None:
    assert n_params(module()) == expected


def test_refinement_stage_used_parameters() -> None:
    """FF-Block + GSR + 2 ResBlocks(128) + upBlock(128→64) = 1,287,936 used parameters per stage (§11.1)."""
    stage = nn.ModuleList([FFBlock(64, 256), GSR(64, 256), ResBlockGLU(128), ResBlockGLU(128), UpBlock(128, 64)])
    assert n_params(stage) == 1_287_936


def test_dfgan_fusion_parameter_counts() -> None:
    """DF-GAN G_Blocks (§11.4): 2,437,632 for 256→256 and 1,353,088 for 256→128, cond y = [z; s] of 356."""
    conv = lambda i, o, k=3: nn.Conv2d(i, o, k)  # noqa: E731 - convs with bias, as in DF-GAN
    same = nn.ModuleList([DFBlock(256, 356), conv(256, 256), DFBlock(256, 356), conv(256, 256)])
    assert n_params(same) == 2_437_632
    down = nn.ModuleList([DFBlock(256, 356), conv(256, 128), DFBlock(128, 356), conv(128, 128), conv(256, 128, 1)])
    assert n_params(down) == 1_353_088
