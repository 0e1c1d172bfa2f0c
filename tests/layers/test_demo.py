"""The interim demo builds an FF-GAN refinement stage from the registry and back-propagates through it."""

from __future__ import annotations

import re

import pytest

from fusionblocks.demo import main


def test_demo_runs_forward_and_backward(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--batch", "2", "--size", "8", "--words", "5"])
    out = capsys.readouterr().out
    assert "stage parameters: 1,289,664" in out  # 1,287,936 used stage parameters (spec §11.1) + image head 1,728
    assert "output h (2, 64, 16, 16)  image (2, 3, 16, 16)  attention (2, 5, 8, 8)" in out
    grad_norm = float(re.search(r"gradient norm ([0-9.]+)", out).group(1))
    assert grad_norm > 0
