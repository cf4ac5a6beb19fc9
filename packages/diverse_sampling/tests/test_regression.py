"""Fixed-seed short t1 + t2 runs on synthetic data against golden losses and metrics; resume; CLI."""

import json
import shutil

import numpy as np
import pytest
import torch

from diverse_sampling.classifier import train_classifier
from diverse_sampling.main import main
from diverse_sampling.train import train
from motionkit.errors import run_cli
from motionkit.training import load_checkpoint
from motionkit.training.ddp import init_distributed


def _losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    keys = sorted({k for r in rows for k in r if k.startswith("loss/")})
    assert keys, f"no losses logged in {run_dir}"
    return {k: [r[k] for r in rows if k in r] for k in keys}


def test_short_t1_t2_run_matches_golden(small_cfg, golden, capsys):
    env = init_distributed(device="cpu")
    cfg1 = small_cfg("t1")
    m1 = train(cfg1, env)
    cfg2 = small_cfg("t2")
    m2 = train(cfg2, env)
    train_classifier(cfg2, torch.device("cpu"))
    # evaluation through the CLI, as a user runs it (--is_load=1 --model_path=...)
    ckpt = cfg2.resolved_run_dir() / "last.pt"
    argv = ["--exp_name=test_small_t2", "--is_load=1", f"--model_path={ckpt}", "--device", "cpu",
            f"--data-root={cfg2.data_root}", f"--t1_checkpoint={cfg2.t1_checkpoint}",
            f"--set=classifier_checkpoint={cfg2.classifier_checkpoint}", f"--set=derived_dir={cfg2.derived_dir}"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "APD" in out and "MMFDE" in out and "FID" in out and "ACC" in out
    evaluated = json.loads((ckpt.parent / "eval_last" / "metrics.json").read_text())
    assert (ckpt.parent / "eval_last" / "futures_overlay.png").is_file()
    assert (ckpt.parent / "eval_last" / "futures.gif").is_file()
    # t2 must leave the frozen CVAE untouched
    t1_state = load_checkpoint(cfg1.resolved_run_dir() / "last.pt")["modules"]["cvae"]
    t2_state = load_checkpoint(ckpt)["modules"]
    assert set(t2_state) == {"sampler", "optimizer", "scheduler"}
    assert all(torch.isfinite(v).all() for v in t1_state.values() if v.is_floating_point())
    golden.check("short_t1_t2", {
        "t1_losses": _losses(cfg1.resolved_run_dir()), "t1_metrics": m1,
        "t2_losses": _losses(cfg2.resolved_run_dir()), "t2_metrics": m2, "t2_eval_cli": evaluated,
    }, rtol=2e-3, atol=1e-5)


def test_resume_ends_where_an_uninterrupted_run_ends(small_cfg, tmp_path):
    env = init_distributed(device="cpu")
    cfg = small_cfg("t1", epochs=3, eval_every=0, save_every=1)
    train(cfg, env)
    run = cfg.resolved_run_dir()
    full = load_checkpoint(run / "last.pt")["modules"]["cvae"]
    shutil.copy(run / "ckpt_00000002.pt", run / "last.pt")  # as if killed after epoch 2
    (run / "ckpt_00000003.pt").unlink()
    train(cfg, env)
    resumed = load_checkpoint(run / "last.pt")["modules"]["cvae"]
    for k in full:
        assert torch.equal(full[k], resumed[k]), k


def test_cli_missing_data_is_one_line(tmp_path, capsys):
    code = run_cli(main, ["--exp_name=test_small_t1", "--is_train=1", "--device", "cpu",
                          f"--data-root={tmp_path / 'nowhere'}", f"--run-dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith("error: ") and "data_3d_h36m.npz not found" in err and "--make-synthetic" in err


def test_cli_unknown_config_and_key(capsys):
    assert run_cli(main, ["--exp_name=nope"]) == 2
    assert "must be one of" in capsys.readouterr().err
    assert run_cli(main, ["--exp_name=test_small_t1", "--set=not_a_field=1"]) == 2
    assert "not_a_field" in capsys.readouterr().err


@pytest.mark.ddp
def test_ddp_two_process_gloo(small_cfg, tmp_path):
    import os
    import subprocess
    import sys

    cfg = small_cfg("t1", epochs=1)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "diverse_sampling.main", "--exp_name=test_small_t1", "--is_train=1", "--device", "cpu",
           f"--data-root={cfg.data_root}", f"--run-dir={tmp_path / 'ddp'}", "--epochs=1",
           f"--set=derived_dir={cfg.derived_dir}", "--set=windows_per_epoch=16"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "ddp" / "last.pt").is_file()
    rows = (tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()
    assert len([r for r in rows if "loss/total" in r]) == 1  # only rank 0 logs


@pytest.mark.cuda
def test_short_t1_t2_on_cuda(small_cfg):
    env = init_distributed(device="cuda")
    m1 = train(small_cfg("t1", device="cuda"), env)
    m2 = train(small_cfg("t2", device="cuda"), env)
    for m in (m1, m2):
        assert all(np.isfinite(v) for v in m.values()) and m["APD"] > 0
