"""Sample grids (PNG with captions and attention), metrics JSONL, device/precision policy."""

from __future__ import annotations

import pytest
import torch

from fusionblocks.train.device import autocast_factory, resolve_precision, select_device
from fusionblocks.train.grids import attention_grid, caption_grid, save_images, to_pil
from fusionblocks.train.metrics_log import MetricsLogger, read_metrics


def test_to_pil_maps_range_exactly():
    img = torch.tensor([-1.0, 0.0, 1.0]).view(3, 1, 1).expand(3, 2, 2)
    pixels = to_pil(img).getpixel((0, 0))
    assert pixels == (0, 128, 255) or pixels == (0, 127, 255)
    assert to_pil(img, scale=3).size == (6, 6)


def test_caption_grid_layout_and_pixels(tmp_path):
    images = torch.full((3, 3, 8, 8), -1.0)
    images[1, 0] = 1.0  # second image red
    grid = caption_grid(images, ["a red circle", "b", "c"], columns=2, cell=32, path=tmp_path / "g.png")
    assert (tmp_path / "g.png").exists()
    assert grid.width == 2 * (32 + 4) + 4
    # centre of the second tile is red
    assert grid.getpixel((4 + 36 + 16, 4 + 16)) == (255, 0, 0)
    with pytest.raises(ValueError, match="captions"):
        caption_grid(images, ["x"])
    assert len(save_images(images, tmp_path / "s")) == 3


def test_attention_grid_marks_the_attended_region(tmp_path):
    images = torch.zeros(1, 3, 16, 16)
    att = torch.zeros(1, 2, 4, 4)
    att[0, 0, 0, 0] = 1.0  # word 0 looks at the top-left corner
    grid = attention_grid(images, att, ["red circle"], cell=16, path=tmp_path / "a.png")
    assert (tmp_path / "a.png").exists()
    x0 = 2 + 1 * (16 + 2)  # the first attention tile, right of the image
    reds = [grid.getpixel((x0 + x, y))[0] for y in range(grid.height) for x in range(16)]
    assert max(reds) > 200
    with pytest.raises(ValueError, match="attention"):
        attention_grid(images, torch.zeros(2, 2, 4, 4), ["a"])


def test_metrics_logger_appends_and_truncates_on_resume(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with MetricsLogger(path, tensorboard=False) as log:
        for s in (1, 2, 3):
            log.log(s, {"loss": float(s)})
    with open(path, "a") as f:
        f.write('{"step": 4, "lo')  # torn line from a killed process
    assert [r["step"] for r in read_metrics(path)] == [1, 2, 3]
    with MetricsLogger(path, tensorboard=False, truncate_after_step=2) as log:
        log.log(3, {"loss": 30.0, "bad": float("nan")})
    recs = read_metrics(path)
    assert [r["step"] for r in recs] == [1, 2, 3] and recs[-1]["loss"] == 30.0 and recs[-1]["bad"] == "nan"


def test_device_and_precision_policy():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cpu", "cuda", "mps")
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "bf16"
    with pytest.raises(ValueError, match="fp16"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("int8", cpu)
    with pytest.raises(ValueError, match="device"):
        select_device("nonsense")
    with autocast_factory(cpu, "bf16")():
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.bfloat16
    with autocast_factory(cpu, "fp32")():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
