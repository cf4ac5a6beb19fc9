"""DDP smoke test: two CPU processes (gloo) under torchrun train the tiny config and write one checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from deepnag_testutils import TEST_CONFIG

from motionkit.training import load_checkpoint


@pytest.mark.ddp
@pytest.mark.parametrize("model", ["DeepNAG", "DeepGAN"])
def test_torchrun_two_processes_gloo(tmp_path, model):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "deepnag.main",
           f"--model={model}", f"--config={TEST_CONFIG}", "--epochs=2", "--device=cpu", f"--log-dir={tmp_path}",
           "--run-name=ddp"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "deepnag" / "ddp"
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]  # only rank 0 logs
    state = load_checkpoint(run / "last.pt")
    assert state["step"] == 2 and not any(k.startswith("module.") for k in state["modules"]["generator"])
