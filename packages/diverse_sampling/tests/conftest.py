"""Shared fixtures: a tiny synthetic H36M-like data set written in the real file format, and small configs."""

from __future__ import annotations

import pytest
import torch

from diverse_sampling.config import CONFIG_DIR, Config
from diverse_sampling.data.synthetic import make_synthetic
from motionkit.config import load_config

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def small_data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("h36m_small")
    make_synthetic("h36m", root, frames_per_take=120, takes_per_action=1, seed=0)
    return root


@pytest.fixture()
def small_cfg(small_data_root, tmp_path):
    def make(stage: str = "t1", **overrides) -> Config:
        base = {
            "data_root": str(small_data_root),
            "derived_dir": str(small_data_root / "derived"),
            "log_dir": str(tmp_path / "runs"),  # run folders: <tmp>/runs/diverse_sampling/<run_name>
            "device": "cpu",
        }
        base.update(overrides)
        return load_config(Config, CONFIG_DIR / f"test_small_{stage}.yaml", base)

    return make

