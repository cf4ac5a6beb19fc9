"""The command line (issue 13): every config field is a flag with help; bad values are one line before any work;
a new run folder per invocation; --resume after a kill ends bit-identical (a locked run folder: test_faults)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from deepnag_testutils import TEST_CONFIG

from deepnag.config import Config
from deepnag.main import VERBS, build_parser, main
from motionkit.errors import run_cli
from motionkit.training import load_checkpoint

SMALL = [f"--config={TEST_CONFIG}", "--device=cpu", "--render-after-training=0"]


def test_help_lists_every_config_field_for_every_command():
    for verb in ("main", *VERBS):
        text = build_parser(verb).format_help()
        for f in dataclasses.fields(Config):
            assert f"--{f.name.replace('_', '-')}" in text, (verb, f.name)
        assert "examples:" in text and "python -m deepnag.main" in text
    text = build_parser().format_help()
    for flag in ("--dataset-name", "--epoch ", "--deepgan-critic-iters", "--deepgan-lambda", "--checkpoint-frequency",
                 "--beta0", "--beta1", "--datapath", "--experiment-name", "--vis-frequency", "--evaluate",
                 "--resume", "--config", "{DeepNAG,DeepGAN}"):
        assert flag in text, flag


BAD_VALUE = pytest.mark.fault(3, "a bad value or unknown choice on the command line")
NOT_HERE = pytest.mark.fault(4, "a config or device that is not there")


@pytest.mark.parametrize("argv,problem", [
    pytest.param(["--epochs=many"], "--epochs", marks=BAD_VALUE),
    pytest.param(["--model=DeepFoo"], "DeepFoo", marks=BAD_VALUE),
    pytest.param(["--dataset-name=mnist"], "mnist", marks=BAD_VALUE),
    pytest.param(["--precision=fp8"], "fp8", marks=BAD_VALUE),
    pytest.param(["--lr=0"], "--lr", marks=BAD_VALUE),
    pytest.param(["--config=no-such-config"], "no-such-config", marks=NOT_HERE),
    pytest.param(["--device=banana"], "banana", marks=NOT_HERE),
    pytest.param(["--device=cuda"], "CUDA", marks=[NOT_HERE, pytest.mark.skipif(torch.cuda.is_available(),
                                                                                  reason="has CUDA")]),
])
def test_bad_value_or_unknown_choice_is_one_line_before_any_work(tmp_path, capsys, argv, problem):
    try:
        code = run_cli(main, [f"--log-dir={tmp_path}", "--device=cpu", *argv])
    except SystemExit as exc:  # argparse's own one-line usage error
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and problem in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "deepnag").exists()  # nothing was started


@pytest.mark.fault(3, "an unknown choice in a config file")
def test_unknown_choice_in_a_config_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: DeepFoo\n")
    assert run_cli(main, [f"--config={bad}", f"--log-dir={tmp_path}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "DeepFoo" in err and len(err.splitlines()) == 1


@pytest.mark.fault(7, "a finished run is never silently resumed into doing nothing")
def test_rerunning_a_finished_run_starts_a_new_run_folder(tmp_path):
    argv = [*SMALL, "--epochs=1", f"--log-dir={tmp_path}", "--run-name=again"]
    assert main(argv) == 0 and main(argv) == 0
    runs = tmp_path / "deepnag"
    assert (runs / "again" / "last.pt").is_file() and (runs / "again-2" / "last.pt").is_file()
    # and --resume of a finished run says how to extend it instead of training nothing
    with pytest.raises(Exception, match="already finished.*--epochs"):
        main([*argv, "--resume"])


def _wait_for(path, proc, timeout=120):
    start = time.time()
    while not path.exists():
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() - start < timeout
        time.sleep(0.01)


def test_resume_after_a_kill_ends_bit_identical(tmp_path):
    args = [*SMALL, "--epochs=12", "--checkpoint-every=1", f"--log-dir={tmp_path}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "deepnag.main", *args, "--run-name=killed"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(tmp_path / "deepnag" / "killed" / "ckpt_00000002.pt", proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(tmp_path / "deepnag" / "killed" / "last.pt")["step"]
    assert killed_at < 12
    torch.set_num_threads(1)
    assert main([*args, "--run-name=killed", "--resume"]) == 0
    assert main([*args, "--run-name=whole"]) == 0
    a = load_checkpoint(tmp_path / "deepnag" / "whole" / "last.pt")
    b = load_checkpoint(tmp_path / "deepnag" / "killed" / "last.pt")
    assert a["step"] == b["step"] == 12
    for key, value in a["modules"]["generator"].items():
        assert torch.equal(value, b["modules"]["generator"][key]), key
    rows = [[json.loads(r)["loss"] for r in (tmp_path / "deepnag" / n / "metrics.jsonl").read_text().splitlines()]
            for n in ("whole", "killed")]
    assert rows[0] == rows[1]
