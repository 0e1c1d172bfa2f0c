"""Run these tests single-threaded: their tensors are tiny, and two OpenMP threads on a busy 2-core machine spin
for ~50× longer than one thread computes (measured: a 16² conv forward+backward 95 ms vs 1.6 ms)."""

from __future__ import annotations

from typing import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
