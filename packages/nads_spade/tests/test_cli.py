"""The command line (issue 13): help lists every field, bad values fail in one line before any work, run folders
are new per invocation, --resume after a kill is bit-identical, a second process on a run folder is refused."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motionkit.errors import run_cli
from motionkit.runfolder import open_run_folder
from nads_spade.config import Config
from nads_spade.main import COMMANDS, build_parser, main

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "test_tiny.yaml")


def tiny_args(tiny_data, log_dir, *extra):
    return ["--config", CONFIG, "--train_root", str(tiny_data / "train"), "--val_root", str(tiny_data / "val"),
            "--test_root", str(tiny_data / "test_wide"), "--log_dir", str(log_dir), "--device", "cpu",
            "--tensorboard", "0", *extra]


def test_every_command_help_lists_every_field_and_an_example(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        text = capsys.readouterr().out
        missing = [f.name for f in dataclasses.fields(Config) if f"--{f.name}" not in text]
        assert not missing, f"{command} --help lacks {missing}"
        assert "examples:" in text and f"nads_spade.main {command}" in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-nads", "--help"])
    text = capsys.readouterr().out
    assert "--num_training_epochs" in text and "{sgd,adam}" in text and "(default: 1e-05)" in text


@pytest.mark.parametrize("argv, problem", [
    (["--nads_batch_size", "four"], "--nads_batch_size"),
    (["--nads_optimizer", "adamw"], "'adamw' is not one of"),
    (["--arm_augment_type", "wildly"], "'wildly' is not one of"),
    (["--nads_batch_size", "0"], "nads_batch_size 0: must be at least 1"),
    (["--image_size", "100"], "multiple of 32"),
])
@pytest.mark.fault(3, "a bad value or unknown choice on the command line")
def test_bad_value_or_unknown_choice_is_one_line_before_any_work(tiny_data, tmp_path, capsys, argv, problem):
    try:
        code = run_cli(main, ["train-nads", *tiny_args(tiny_data, tmp_path / "runs"), *argv])
    except SystemExit as e:  # argparse's own errors (motionkit's one-line parser)
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error:") and problem in err
    assert not (tmp_path / "runs").exists()  # nothing was started


@pytest.mark.fault(3, "nads_optimizer: rmsprop in a YAML config is refused, never run as SGD")
def test_unknown_choice_in_a_yaml_config_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("nads_optimizer: rmsprop\n")
    code = run_cli(main, ["train-nads", "--config", str(bad), "--log_dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "rmsprop" in err and str(bad) in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.fault(3, "--resume of a finished run is refused, not silently redone")
def test_rerun_makes_a_new_folder_and_a_finished_run_is_not_resumed_silently(tiny_data, tmp_path, capsys):
    args = ["train-nads", *tiny_args(tiny_data, tmp_path / "runs", "--max_steps", "1")]
    assert run_cli(main, args) == 0 and run_cli(main, args) == 0
    runs = tmp_path / "runs" / "nads_spade"
    assert (runs / "test_tiny-nads" / "last.pt").is_file() and (runs / "test_tiny-nads-2" / "last.pt").is_file()
    capsys.readouterr()
    assert run_cli(main, [*args, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already finished" in err and "--max_steps" in err


KILL_AFTER_FIRST_SAVE = """
import os, signal, sys
from motionkit.training.checkpoint import Checkpointer
from nads_spade.main import main
save = Checkpointer.save
def save_then_die(self, *a, **k):
    out = save(self, *a, **k)
    os.kill(os.getpid(), signal.SIGKILL)   # a kill right after the step-1 checkpoint
    return out
Checkpointer.save = save_then_die
main(sys.argv[1:])
"""


def test_resume_after_a_kill_is_bit_identical(tiny_data, tmp_path):
    common = tiny_args(tiny_data, tmp_path / "runs", "--max_steps", "3", "--save_latest_freq", "1",
                       "--nads_batch_size", "2", "--num_threads", "1")  # same threads in and out of process
    assert run_cli(main, ["train-nads", *common, "--run_name", "straight"]) == 0
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_SAVE, "train-nads", *common, "--run_name",
                             "killed"], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    runs = tmp_path / "runs" / "nads_spade"
    assert torch.load(runs / "killed" / "last.pt", weights_only=False)["step"] == 1
    assert run_cli(main, ["train-nads", *common, "--run_name", "killed", "--resume"]) == 0
    a = torch.load(runs / "straight" / "last.pt", weights_only=False)["modules"]["net"]
    b = torch.load(runs / "killed" / "last.pt", weights_only=False)["modules"]["net"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.fault(6, "a second process on a run folder that is in use")
def test_second_process_on_the_same_run_folder_is_refused(tiny_data, tmp_path, capsys):
    folder = tmp_path / "runs" / "nads_spade" / "busy"
    holder = open_run_folder(folder, resuming=False)  # another process writing this run
    try:
        code = run_cli(main, ["train-nads", *tiny_args(tiny_data, tmp_path / "runs", "--max_steps", "1"),
                              "--resume", str(folder)])
    finally:
        holder.close("finished")
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "in use by another process" in err
