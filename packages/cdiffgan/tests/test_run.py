"""The run lifecycle through our CLI: one-line errors before work, new folder per run, --resume, the lock,
--help lists every config field, and a loss term added through losses.py and the config only."""

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from cdiffgan import losses
from cdiffgan.config import Config
from cdiffgan.main import build_parser, main
from motionkit.errors import ConfigError, run_cli

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _rc(argv) -> int:
    """Exit status of the CLI (argparse usage errors exit directly with status 2)."""
    try:
        return run_cli(main, argv)
    except SystemExit as e:
        return e.code


def _args(data, runs, *extra):
    return ["continual", "--config", "test_tiny", "-data_dir", str(data), "--log-dir", str(runs),
            "-speaker", "oliver", "-num_epochs", "1", "--progress", "0", *extra]


@pytest.mark.fault(3, "a bad choice, type or count, or an unknown config name: one line before any run folder")
@pytest.mark.parametrize("bad, needle", [(["-replay", "pseudo-align"], "replay"),
                                         (["-inner_loop", "closed"], "inner_loop"),
                                         (["-k_shot", "seven"], "k_shot"),
                                         (["-k_shot", "0"], "k_shot"),
                                         (["--config", "no_such_config"], "no_such_config")])
def test_bad_value_is_one_line_error_before_work(syn_dir, tmp_path, capsys, bad, needle):
    rc = _rc(_args(syn_dir, tmp_path / "runs", *bad))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and needle in err and err.startswith("error:")
    assert not (tmp_path / "runs").exists()                       # no run folder: nothing started


def test_help_lists_every_config_field_with_help(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["continual", "--help"])
    out = capsys.readouterr().out
    for f in dataclasses.fields(Config):
        assert f"--{f.name}" in out, f.name
    assert "examples:" in out and "--resume" in out and "configs/cpu_small.yaml" not in out
    assert "replay of old speakers" in out                      # help text from the field's comment


@pytest.mark.fault(6, "a second run of the same name gets its own folder; --resume of a finished run is one line")
def test_finished_run_reruns_into_a_new_folder_and_resume_continues(syn_dir, tmp_path):
    runs = tmp_path / "runs"
    assert main(_args(syn_dir, runs)) == 0
    assert main(_args(syn_dir, runs)) == 0
    names = sorted(p.name for p in (runs / "cdiffgan").iterdir())
    assert names == ["tiny_pseudo-align-fs-src_k3_fs1", "tiny_pseudo-align-fs-src_k3_fs1-2"]
    assert (runs / "cdiffgan" / names[1] / "step1_oliver" / "final.pt").exists()
    # --resume of a finished run: one line saying so, nothing new
    assert _rc(_args(syn_dir, runs, "--resume", names[0])) == 2
    assert len(list((runs / "cdiffgan").iterdir())) == 2


@pytest.mark.fault(6, "a second process on a run folder in use: one line (the lock)")
def test_second_process_on_the_run_folder_is_refused(syn_dir, tmp_path, capsys):
    from motionkit.runfolder import open_run_folder
    runs = tmp_path / "runs"
    assert main(_args(syn_dir, runs)) == 0
    folder = runs / "cdiffgan" / "tiny_pseudo-align-fs-src_k3_fs1"
    held = open_run_folder(folder, resuming=True)               # another process writing this run
    try:
        rc = run_cli(main, _args(syn_dir, runs, "--resume", str(folder)))
    finally:
        held.close("finished")
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "in use by another process" in err


@pytest.mark.fault(7, "a resumed run repeats no metrics.jsonl line and ends bit-identical")
def test_resume_after_kill_is_bit_identical(tiny_cfg, tmp_path):
    from cdiffgan.continual import continual
    from cdiffgan.models import load_step

    cfg = dataclasses.replace(tiny_cfg, speaker=["oliver", "maher"], num_epochs=2, log_dir=str(tmp_path / "a"))
    full = continual(cfg, log=lambda *_: None)
    cfg2 = dataclasses.replace(cfg, log_dir=str(tmp_path / "b"))
    assert continual(cfg2, interrupt=(1, 1), log=lambda *_: None) is None      # killed after t1 epoch 1
    resumed = continual(cfg2, resume="", log=lambda *_: None)
    for a, b in zip(load_step(full / "step2_maher" / "final.pt")[1:3], load_step(resumed / "step2_maher" /
                                                                                 "final.pt")[1:3]):
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va, vb), k
    rows = lambda run: (run / "step2_maher" / "metrics.jsonl").read_text()       # noqa: E731
    assert rows(full) == rows(resumed)


def test_dummy_loss_term_through_losses_and_config_only(tiny_cfg, tmp_path, monkeypatch):
    """A new generator term = one entry in losses.GENERATOR_TERMS + its weight in the config; it is logged."""
    from cdiffgan.continual import continual

    monkeypatch.setitem(losses.GENERATOR_TERMS, "dummy", lambda out, batch: out["pose"].abs().mean())
    cfg = dataclasses.replace(tiny_cfg, speaker=["oliver", "maher"], loss_weights={"dummy": 0.5}, dg_iter_ratio=0)
    run = continual(cfg, log=lambda *_: None)
    for step in ("step1_oliver", "step2_maher"):
        row = json.loads((run / step / "metrics.jsonl").read_text().splitlines()[-1])
        assert row["dummy"] > 0, step
    with pytest.raises(ConfigError, match="dumy"):  # refused when the config is built (and by check_terms)
        losses.check_terms(dataclasses.replace(tiny_cfg, loss_weights={"dumy": 1.0}))


def test_lambda_weights_are_read(tiny_cfg):
    out = {"pose": torch.ones(2, 64, 96), "cluster_logits": torch.zeros(2, 3, 64), "d_fake": torch.zeros(2, 12)}
    batch = {"pose": torch.zeros(2, 64, 96), "labels": torch.zeros(2, 64, dtype=torch.long),
             "style": torch.zeros(2, dtype=torch.long)}
    cfg = dataclasses.replace(tiny_cfg, lambda_rec=2.0, loss_weights={"cluster": 0})
    t = losses.generator_losses(cfg, out, batch, lambda_gan=1.5)
    assert t["rec"].item() == 2.0 and t["adv"].item() == 1.5 and "cluster" not in t
    assert t["G"].item() == pytest.approx(3.5)
    sched = losses.LambdaScheduler(0.1, 2, 2.0)
    sched.calls = 5
    assert sched.value(1.0) == pytest.approx(1.2) and sched.value(1.95) == 2.0


@pytest.mark.fault(2, "--resume -hidden 32 on a 16-wide run: one line, config.yaml keeps hidden 16")
def test_resume_refuses_a_change_the_weights_cannot_follow(syn_dir, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(_args(syn_dir, runs)) == 0
    rc = _rc(_args(syn_dir, runs, "--resume", "-hidden", "32"))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "hidden" in err
    folder = runs / "cdiffgan" / "tiny_pseudo-align-fs-src_k3_fs1"
    assert "hidden: 16" in (folder / "config.yaml").read_text()      # the record still matches the weights
    # allowed: a longer sequence continues from the last final.pt
    assert main(_args(syn_dir, runs, "--resume", "-speaker", "oliver,maher", "-num_training_iters", "1")) == 0
    assert (folder / "step2_maher" / "final.pt").exists()


@pytest.mark.fault(4, "a foreign checkpoint (no config, G, D ...): one line, not KeyError")
def test_foreign_checkpoint_is_one_line(tmp_path):
    from cdiffgan.models import load_step
    from motionkit.errors import CheckpointError
    torch.save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a cdiffgan step checkpoint"):
        load_step(tmp_path / "other.pt")


@pytest.mark.fault(1, "lr 1e30: the run stops, no checkpoint holds non-finite or exploded weights")
def test_divergence_never_saves_exploded_weights(tiny_cfg, tmp_path):
    """lr 1e30: the run stops with one line, and no checkpoint holds non-finite or exploded weights."""
    from cdiffgan.continual import continual
    from motionkit.errors import NonFiniteLossError
    cfg = dataclasses.replace(tiny_cfg, speaker=["oliver"], lr=1e30, num_epochs=2, style_iters=3)
    with pytest.raises(NonFiniteLossError):
        continual(cfg, log=lambda *_: None)
    for ck in tmp_path.rglob("*.pt"):
        state = torch.load(ck, weights_only=False)
        for net in ("G", "D"):
            for v in state["modules"][net].values():
                if v.is_floating_point():
                    assert torch.isfinite(v).all() and v.abs().max() < 1e12, ck


@pytest.mark.fault(7, "kill -9 after a checkpoint leaves nothing that breaks --resume (bit-identical end)")
def test_sigkill_then_resume_is_bit_identical(syn_dir, tmp_path):
    """A real kill -9 of the CLI process after t1's first epoch checkpoint, then --resume: the final weights equal
    those of an uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from cdiffgan.models import load_step

    def argv(runs, *extra):
        return [sys.executable, "-m", "cdiffgan.main", *_args(syn_dir, runs, "-speaker", "oliver,maher",
                                                               "-num_epochs", "3", "-num_epochs_tn", "1", *extra)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(argv(tmp_path / "a"), check=True, capture_output=True, env=env, timeout=300)
    proc = subprocess.Popen(argv(tmp_path / "b"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    first = tmp_path / "b" / "cdiffgan" / "tiny_pseudo-align-fs-src_k3_fs1" / "step1_oliver" / "ckpt_00000001.pt"
    deadline = time.time() + 240
    while not first.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert first.exists()
    subprocess.run(argv(tmp_path / "b", "--resume"), check=True, capture_output=True, env=env, timeout=300)
    a = load_step(tmp_path / "a" / "cdiffgan" / "tiny_pseudo-align-fs-src_k3_fs1" / "step2_maher" / "final.pt")
    b = load_step(tmp_path / "b" / "cdiffgan" / "tiny_pseudo-align-fs-src_k3_fs1" / "step2_maher" / "final.pt")
    for net_a, net_b in zip(a[1:3], b[1:3]):
        for (k, va), vb in zip(net_a.state_dict().items(), net_b.state_dict().values()):
            assert torch.equal(va, vb), k


@pytest.mark.fault(3, "a speaker the data folder does not have: one line naming those it has, before work")
def test_unknown_speaker_is_one_line_before_work(syn_dir, tmp_path, capsys):
    rc = _rc(_args(syn_dir, tmp_path / "runs", "-speaker", "olivr"))
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "no speaker olivr" in err and "oliver" in err
    assert not (tmp_path / "runs").exists()
