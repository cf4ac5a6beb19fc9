"""DDP smoke test: 2 processes, gloo, CPU, launched by torchrun; gradients must be identical across ranks."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.mark.ddp
def test_two_process_gloo_gradients_identical(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(worker),
           str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert not torch.equal(r0["batch"], r1["batch"])  # each rank saw its own shard ...
    assert set(r0["indices"]).isdisjoint(r1["indices"])
    for name in r0["grads"]:  # ... yet DDP averaged the gradients to the same values
        torch.testing.assert_close(r0["grads"][name], r1["grads"][name], rtol=0, atol=0)
    assert torch.allclose(r0["mean_loss"], r1["mean_loss"])


def test_single_process_env_is_a_world_of_one(monkeypatch):
    from motionkit.training.ddp import init_distributed, wrap_ddp

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    env = init_distributed(device="cpu")
    assert not env.enabled and env.is_main and env.world_size == 1
    model = torch.nn.Linear(2, 2)
    assert wrap_ddp(model, env) is model
