"""Shared helpers: tiny configs that run in seconds on a 2-core CPU."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(1)  # identical numerics on every machine, and no oversubscription on 2 cores
    yield


@pytest.fixture(autouse=True)
def _no_display(monkeypatch):
    # evaluation opens windows when a display is there; tests write files only
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
