"""Fixed-seed short t1 + t2 runs on synthetic data against golden losses and metrics; run folders, resume, lock."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from diverse_sampling.classifier import train_classifier
from diverse_sampling.main import main
from diverse_sampling.train import train
from motionkit.errors import run_cli
from motionkit.training import Checkpointer, load_checkpoint


def _losses(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    keys = sorted({k for r in rows for k in r if k.startswith("loss/")})
    assert keys, f"no losses logged in {run_dir}"
    return {k: [r[k] for r in rows if k in r] for k in keys}


def _status(argv) -> int:
    """Exit status of the CLI, as a shell sees it (argparse errors exit through SystemExit)."""
    try:
        return run_cli(main, argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _cli_base(cfg, exp="test_small_t1"):
    return [f"--exp_name={exp}", "--device", "cpu", f"--data-root={cfg.data_root}", f"--log-dir={cfg.log_dir}",
            f"--derived_dir={cfg.derived_dir}"]


def test_short_t1_t2_run_matches_golden(small_cfg, golden, capsys):
    cfg1 = small_cfg("t1")
    m1 = train(cfg1)
    cfg2 = small_cfg("t2")
    m2 = train(cfg2)  # its CVAE: t1_checkpoint "test_small_t1" = that run's last.pt
    train_classifier(cfg2)
    run1, run2 = cfg1.runs_root() / "test_small_t1", cfg2.runs_root() / "test_small_t2"
    # evaluation through the CLI, as a user runs it (--is_load=1 --model_path=...)
    ckpt = run2 / "last.pt"
    assert main([*_cli_base(cfg2, "test_small_t2"), "--is_load=1", f"--model_path={ckpt}"]) == 0
    out = capsys.readouterr().out
    assert "APD" in out and "MMFDE" in out and "FID" in out and "ACC" in out
    evaluated = json.loads((run2 / "eval_last" / "metrics.json").read_text())
    assert (run2 / "eval_last" / "futures_overlay.png").is_file()
    assert (run2 / "eval_last" / "futures.gif").is_file()
    # t2 must leave the frozen CVAE untouched
    t1_state = load_checkpoint(run1 / "last.pt")["modules"]["cvae"]
    t2_state = load_checkpoint(ckpt)["modules"]
    assert set(t2_state) == {"sampler", "optimizer", "scheduler"}
    assert all(torch.isfinite(v).all() for v in t1_state.values() if v.is_floating_point())
    assert json.loads((run2 / "run.json").read_text())["status"] == "finished"
    golden.check("short_t1_t2", {
        "t1_losses": _losses(run1), "t1_metrics": m1,
        "t2_losses": _losses(run2), "t2_metrics": m2, "t2_eval_cli": evaluated,
    }, rtol=2e-3, atol=1e-5)


@pytest.mark.fault(6, "a run killed right after a checkpoint, resumed: final weights equal an uninterrupted run")
def test_resume_after_kill_is_bit_identical(small_cfg, monkeypatch):
    base = {"epochs": 3, "eval_every": 0, "save_every": 1}
    cfg_a, cfg_b = small_cfg("t1", run_name="whole", **base), small_cfg("t1", run_name="killed", **base)
    train(cfg_a)
    save = Checkpointer.save

    def save_then_die(self, step, *args, **kwargs):
        out = save(self, step, *args, **kwargs)
        if step == 2:
            raise KeyboardInterrupt  # as if killed right after the epoch-2 checkpoint
        return out

    monkeypatch.setattr(Checkpointer, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(cfg_b)
    killed = cfg_b.runs_root() / "killed"
    assert json.loads((killed / "run.json").read_text())["status"] == "interrupted"  # Ctrl-C, recorded as such
    monkeypatch.setattr(Checkpointer, "save", save)
    train(cfg_b, resume="")  # --resume: the latest run called "killed"
    whole = load_checkpoint(cfg_a.runs_root() / "whole" / "last.pt")["modules"]["cvae"]
    resumed = load_checkpoint(killed / "last.pt")["modules"]["cvae"]
    assert whole.keys() == resumed.keys()
    for k in whole:
        assert torch.equal(whole[k], resumed[k]), k
    assert not (cfg_b.runs_root() / "killed-2").exists()


@pytest.mark.fault(6, "a re-run gets a new folder; --resume of a finished run is one line")
def test_rerun_starts_a_new_folder_and_a_finished_run_is_not_resumed(small_cfg, capsys):
    cfg = small_cfg("t1")
    argv = [*_cli_base(cfg), "--is_train=1", "--epochs=1", "--eval_every=0"]
    assert run_cli(main, argv) == 0
    assert run_cli(main, argv) == 0
    root = cfg.runs_root()
    assert (root / "test_small_t1" / "last.pt").is_file() and (root / "test_small_t1-2" / "last.pt").is_file()
    capsys.readouterr()
    assert run_cli(main, [*argv, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already finished" in err and "--epochs" in err
    assert not (root / "test_small_t1-3").exists()


@pytest.mark.fault(6, "a second process on a locked run folder")
def test_second_process_on_the_same_run_folder_is_refused(small_cfg, capsys):
    cfg = small_cfg("t1")
    argv = [*_cli_base(cfg), "--is_train=1", "--epochs=1", "--eval_every=0"]
    assert run_cli(main, argv) == 0
    folder = cfg.runs_root() / "test_small_t1"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from motionkit.runfolder import open_run_folder; "
        f"f = open_run_folder({str(folder)!r}, True); print('locked', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert holder.stdout.readline().strip() == "locked"
        capsys.readouterr()
        assert run_cli(main, [*argv, "--epochs=2", "--resume", str(folder)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "in use by another process" in err and str(folder) in err
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.fault(3, "an out-of-range, non-finite or unknown config value, before anything is written")
@pytest.mark.parametrize("flag,value,message", [
    ("--stage", "t3", "'t3'"), ("--dataset", "mocap", "'mocap'"), ("--epochs", "abc", "abc"),
    ("--batch_size", "1", "batch_size"), ("--device", "gpu0", "gpu0"), ("--tau", "0", "tau"),
    ("--epochs", "0", "epochs"), ("--epochs", "-3", "epochs"), ("--nk", "1", "nk"),
    ("--windows_per_epoch", "1", "windows_per_epoch"), ("--windows_per_epoch", "3", "windows_per_epoch"),
    ("--seed", "-1", "seed"), ("--dct_n", "500", "dct_n"), ("--dct_n", "31", "dct_n"), ("--w_kl", "-1", "w_kl"),
    ("--lr", "nan", "lr"), ("--lr", "inf", "lr"), ("--lr", "-1", "lr"), ("--tau", "inf", "tau"),
    ("--mm_threshold", "nan", "mm_threshold"), ("--grad_clip", "inf", "grad_clip"),
    ("--cvae_enc_blocks", "-1", "cvae_enc_blocks"), ("--cls_windows_per_epoch", "4", "cls_windows_per_epoch"),
    ("--dropout", "1.5", "dropout"), ("--save_every", "-1", "save_every"), ("--hidden_dim", "0", "hidden_dim"),
])
def test_bad_value_or_unknown_choice_is_one_line_before_any_work(small_cfg, capsys, flag, value, message):
    cfg = small_cfg("t1")
    assert _status([*_cli_base(cfg), "--is_train=1", flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and message in err
    assert not cfg.runs_root().exists()  # nothing was started


@pytest.mark.fault(4, "the data file is missing")
def test_cli_missing_data_is_one_line(small_cfg, tmp_path, capsys):
    cfg = small_cfg("t1")
    code = run_cli(main, ["--exp_name=test_small_t1", "--is_train=1", "--device", "cpu",
                          f"--data-root={tmp_path / 'nowhere'}", f"--log-dir={cfg.log_dir}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith("error: ") and "data_3d_h36m.npz not found" in err and "--make-synthetic" in err


def test_cli_unknown_config_and_key(capsys):
    assert run_cli(main, ["--exp_name=nope", "--is_train=1"]) == 2
    assert "h36m_t2" in capsys.readouterr().err  # the one line lists the configs that exist
    assert run_cli(main, ["--exp_name=test_small_t1", "--set=not_a_field=1"]) == 2
    assert "not_a_field" in capsys.readouterr().err


def test_help_lists_every_config_field(capsys):
    import dataclasses

    from diverse_sampling.config import Config

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    missing = [f.name for f in dataclasses.fields(Config) if f"--{f.name}" not in out]
    assert not missing and "examples:" in out and "--resume" in out
    from motionkit.cli import field_help

    undocumented = [f.name for f in dataclasses.fields(Config) if not field_help(Config).get(f.name)]
    assert not undocumented


@pytest.mark.ddp
def test_ddp_two_process_gloo(small_cfg, tmp_path):
    cfg = small_cfg("t1", epochs=1)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "diverse_sampling.main", *_cli_base(cfg), "--is_train=1", "--epochs=1", "--windows_per_epoch=16"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    folder = cfg.runs_root() / "test_small_t1"
    assert (folder / "last.pt").is_file() and not (cfg.runs_root() / "test_small_t1-2").exists()
    rows = (folder / "metrics.jsonl").read_text().splitlines()
    assert len([r for r in rows if "loss/total" in r]) == 1  # only rank 0 logs


@pytest.mark.cuda
def test_short_t1_t2_on_cuda(small_cfg):
    m1 = train(small_cfg("t1", device="cuda"))
    m2 = train(small_cfg("t2", device="cuda"))
    for m in (m1, m2):
        assert all(np.isfinite(v) for v in m.values()) and m["APD"] > 0


@pytest.mark.fault(2, "--resume with a new --lr: applied from the next epoch and logged")
def test_resume_applies_a_new_lr_and_logs_it(small_cfg, capsys):
    cfg = small_cfg("t1")
    argv = [*_cli_base(cfg), "--is_train=1", "--eval_every=0", "--lr_fix_epochs=1"]
    assert run_cli(main, [*argv, "--epochs=1"]) == 0
    capsys.readouterr()
    assert run_cli(main, [*argv, "--epochs=2", "--lr=0.0005", "--resume"]) == 0
    out = capsys.readouterr().out
    assert "learning rate re-based on resume: 0.001 -> 0.0005" in out and "lr: 0.001 -> 0.0005" in out
    run_dir = cfg.runs_root() / "test_small_t1"
    rows = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in rows if "lr" in r][-1] == pytest.approx(0.0005 * 0.5)  # the decay continues from it
    assert "lr: 0.0005" in (run_dir / "config.yaml").read_text()  # the record says what the weights saw last


@pytest.mark.fault(2, "--resume with a new --hidden_dim: refused in one line, the record unchanged")
def test_resume_refuses_a_new_architecture(small_cfg, capsys):
    cfg = small_cfg("t1")
    argv = [*_cli_base(cfg), "--is_train=1", "--eval_every=0"]
    assert run_cli(main, [*argv, "--epochs=1"]) == 0
    saved = (cfg.runs_root() / "test_small_t1" / "config.yaml").read_text()
    capsys.readouterr()
    assert run_cli(main, [*argv, "--epochs=2", "--hidden_dim=16", "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "hidden_dim" in err and "32 -> 16" in err
    assert (cfg.runs_root() / "test_small_t1" / "config.yaml").read_text() == saved
    assert load_checkpoint(cfg.runs_root() / "test_small_t1" / "last.pt")["step"] == 1


@pytest.mark.fault(1, "--lr 1e30 in a new run: one line saying no checkpoint was written, none written")
def test_diverged_weights_are_never_checkpointed(small_cfg, capsys):
    cfg = small_cfg("t1")
    code = run_cli(main, [*_cli_base(cfg), "--is_train=1", "--epochs=1", "--eval_every=0", "--lr=1e30",
                          "--grad_clip=0"])
    lines = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and lines[-1] == errors[0]
    assert "diverged in epoch 1" in errors[0] and "no checkpoint was written" in errors[0]
    assert "intact" not in errors[0]  # there is no checkpoint to be intact
    assert not list((cfg.runs_root() / "test_small_t1").glob("*.pt"))


def test_is_debug_is_the_originals_short_run(small_cfg):
    from diverse_sampling.main import build_parser, make_config

    cfg = make_config(build_parser().parse_args(["--exp_name=h36m_t1", "--is_debug=1", "--is_train=1"]))
    assert (cfg.windows_per_epoch, cfg.eval_every, cfg.max_test_windows) == (200, 1, 90)


@pytest.mark.fault(1, "a finite but exploded weight (1e30) is refused by the pre-checkpoint check")
def test_exploded_but_finite_weights_are_refused():
    from diverse_sampling.divergence import check_weights
    from motionkit.errors import NonFiniteLossError

    model = torch.nn.Linear(2, 2)
    check_weights(model)
    with torch.no_grad():
        model.weight[0, 0] = 1e30
    with pytest.raises(NonFiniteLossError, match="weights exploded .weight: max"):
        check_weights(model)
