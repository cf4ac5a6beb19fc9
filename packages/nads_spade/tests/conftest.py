from pathlib import Path

import pytest
import torch

from motionkit.config import load_config
from nads_spade.config import Config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

# one torch thread: on the shared 2-core CI/dev machine two threads made each small step ~10x slower (measured)
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """A tiny synthetic in-cabin set in the original layout (train/val/test_wide)."""
    from nads_spade.data.synthetic import make_synthetic

    root = tmp_path_factory.mktemp("nads_data")
    cfg = load_config(Config, CONFIGS / "test_tiny.yaml", {"synthetic_root": str(root)})
    make_synthetic(cfg)
    return root


@pytest.fixture
def tiny_cfg(tiny_data, tmp_path):
    def make(**overrides):
        base = {"train_root": str(tiny_data / "train"), "val_root": str(tiny_data / "val"),
                "test_root": str(tiny_data / "test_wide"), "log_dir": str(tmp_path / "runs")}
        base.update(overrides)
        return load_config(Config, CONFIGS / "test_tiny.yaml", base)
    return make
