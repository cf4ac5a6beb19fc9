"""The command line end to end at tiny size, and the run-folder conventions (issue 13): new folder per invocation,
--resume bit-identical after a kill, a finished run never silently resumed, the lock, one-line errors."""

import json

import numpy as np
import pytest
import tensorflow as tf

from apo_tf.main import main
from motionkit.errors import run_cli
from motionkit.runfolder import open_run_folder


def test_cli_train_infer_report_vis(tmp_path, capsys):
    home = ["--home", str(tmp_path)]
    assert run_cli(main, [*home, "train", "synth_tiny", "-s", "1.2e3"]) == 0  # the original's train.py grammar
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["step"] == 1200 and "sampling" in out and "'uniform'" in out  # config printed at start
    run = tmp_path / "gan-synth_tiny"
    assert (run / "samples.png").exists() and list((run / "tb").iterdir())
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert run_cli(main, [*home, "generate_inferences", "synth_tiny", "--max_sequences", "1"]) == 0
    assert run_cli(main, [*home, "h3m_report", "synth_tiny"]) == 0
    out = capsys.readouterr().out
    assert "Total (frames)" in out and "mean-pose baseline" in out
    assert run_cli(main, [*home, "vis_sequence", "synth_tiny"]) == 0
    assert list((tmp_path / "infer-synth_tiny" / "vis").glob("*.gif"))
    assert run_cli(main, [*home, "gan_generator_vis", "synth_tiny"]) == 0
    assert (run / "samples-1200.png").exists()
    assert run_cli(main, [*home, "report", "no_such_id"]) == 2


def test_inference_prints_the_lbfgsb_solver_by_default(tiny_home, tmp_path, capsys):
    """A config that does not choose a solver gets the original's joint L-BFGS-B, shown in the printed config;
    the paper configs name it."""
    from apo_tf.config import load_inference_config

    assert load_inference_config("h3m_big").solver == "lbfgsb" == load_inference_config("eva_big").solver
    cfg = tmp_path / "tiny_default.yaml"
    cfg.write_text("dataset: synth_tiny_consistent_scaled_c1_10fps\ngan_id: synth_tiny\nmaxiter: 20\n"
                   "max_sequences: 1\n")
    capsys.readouterr()
    assert run_cli(main, ["--home", str(tiny_home), "infer", str(cfg)]) == 0
    out = capsys.readouterr().out
    import re

    assert re.search(r"\n  solver +=  ?'lbfgsb'", out) and out.index("solver") < out.index('"sequences": 1')


@pytest.mark.fault(3, "a malformed or unknown value on the command line")
@pytest.mark.parametrize("argv, text", [
    (["train", "synth_tiny", "--max_steps", "ten"], "--max_steps"),
    (["train", "synth_tiny", "--wgan_type", "banana"], "banana"),
    (["infer", "synth_tiny", "--solver", "newton"], "newton"),
    (["train", "synth_tiny", "--lr", "-1"], "lr -1.0: must be > 0"),
    (["train", "synth_tiny", "--dataset", "h3m_banana"], "unknown dataset id"),
    (["train", "no_such_gan"], "no_such_gan"),
])
def test_bad_values_are_one_line_errors_before_any_work(tmp_path, capsys, argv, text):
    try:
        code = run_cli(main, ["--home", str(tmp_path), *argv])
    except SystemExit as e:  # argparse's usage errors exit directly, also with one line and status 2
        code = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and text in err[0], err
    assert not list(tmp_path.iterdir())  # nothing was started: no run folder, no data


def _train(home, *flags):
    return run_cli(main, ["--home", str(home), "train", "synth_tiny", "--max_steps", "600", "--ckpt_every", "300",
                          "--iters_per_call", "20", *flags])


def test_rerun_starts_a_new_folder_and_a_finished_run_is_not_resumed(tmp_path, capsys):
    assert _train(tmp_path) == 0 and _train(tmp_path) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == ["gan-synth_tiny", "gan-synth_tiny-2"]
    capsys.readouterr()
    assert _train(tmp_path, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already finished (global step 600 of 600)" in err[0] and "--max_steps" in err[0]


@pytest.mark.fault(7, "killed after a checkpoint, then --resume: same weights, each metrics.jsonl step once")
@pytest.mark.parametrize("sampling", ["uniform", "shuffle"])
def test_resume_after_a_kill_is_bit_identical(tmp_path, monkeypatch, sampling):
    """Killed (Ctrl-C) right after the checkpoint at step 300, then --resume: the same weights as a run that
    was never interrupted, to the bit (the RNG state and the shuffle pipeline are in the checkpoint)."""
    flags = ["--sampling", sampling, "--shuffle_buffer", "500"]
    assert _train(tmp_path / "a", *flags) == 0
    save = tf.train.CheckpointManager.save

    def killed_after_first_save(self, *a, **k):
        save(self, *a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(tf.train.CheckpointManager, "save", killed_after_first_save)
    assert _train(tmp_path / "b", *flags) == 130
    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    # a plain --resume continues the run as saved (600 steps, its sampler), not the config file's 3000 steps
    assert run_cli(main, ["--home", str(tmp_path / "b"), "train", "synth_tiny", "--resume"]) == 0
    a, b = (tf.train.load_checkpoint(str(p / "gan-synth_tiny/ckpt-600")) for p in (tmp_path / "a", tmp_path / "b"))
    names = [n for n, _ in tf.train.list_variables(str(tmp_path / "a/gan-synth_tiny/ckpt-600"))
             if "VARIABLE_VALUE" in n and ("generator" in n or "critic" in n)]
    assert len(names) >= 8
    for n in names:
        np.testing.assert_array_equal(a.get_tensor(n), b.get_tensor(n), err_msg=n)
    steps = [json.loads(x)["step"] for x in (tmp_path / "b/gan-synth_tiny/metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))  # the resumed run replaced the log lines after its checkpoint


@pytest.mark.fault(6, "a second process resumes a run folder that another one is training in")
def test_a_second_process_on_the_same_run_folder_is_refused(tmp_path, capsys):
    holder = open_run_folder(tmp_path / "gan-synth_tiny", resuming=False)  # another process is training here
    try:
        capsys.readouterr()
        assert _train(tmp_path, "--resume", "--max_steps", "1200") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "in use by another process" in err[0]
    finally:
        holder.close("finished")


def test_every_subcommand_help_lists_every_config_field_and_an_example(capsys):
    import dataclasses

    from apo_tf.main import ALIASES, COMMANDS

    for name in [*COMMANDS, *ALIASES, "make-data", "convert-h3m"]:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        assert "example" in out and "python -m apo_tf.main" in out, name
        cls = COMMANDS.get(ALIASES.get(name, name), (None, None))[1]
        for f in dataclasses.fields(cls) if cls else ():
            assert f"--{f.name}" in out, (name, f.name)
