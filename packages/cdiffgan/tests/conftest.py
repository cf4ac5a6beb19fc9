from pathlib import Path

import pytest
import torch

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def syn_dir(tmp_path_factory):
    """A small synthetic PATS-layout data set (3 speakers), written once per session."""
    from cdiffgan.data.synthetic import make_synthetic
    return make_synthetic(tmp_path_factory.mktemp("pats"), ("oliver", "maher", "chemistry"), n_train=3, n_dev=1,
                          n_test=1, seconds=(9.0, 11.0), seed=0)


@pytest.fixture
def tiny_cfg(syn_dir, tmp_path):
    from cdiffgan.config import Config
    from motionkit.config import load_config
    return load_config(Config, CONFIGS / "test_tiny.yaml", {"data_dir": str(syn_dir), "log_dir": str(tmp_path)})
