"""Shared helpers: tiny configs that run in seconds on a 2-core CPU."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)  # identical numerics on every machine, and no oversubscription on 2 cores
    yield
