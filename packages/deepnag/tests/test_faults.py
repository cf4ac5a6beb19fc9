"""Faults (issue 20), one bad input per case, each marked with its class (motionkit.fault_suite):
1 divergence, 2 resume with a changed setting, 3 a bad value refused, 4 one line instead of a traceback,
5 the download cache, 6 two runs / one folder or cache, 7 no misleading lines, no leftovers.

Each case ends as the issue requires: one `error:` line and exit 2 naming the file, value or flag, with nothing
written or the earlier checkpoint intact; or a change applied and logged."""

from __future__ import annotations

import json
import pickle
import subprocess

import numpy as np
import pytest
import torch
import yaml
from deepnag_testutils import TEST_CONFIG, write_original_checkpoint

from deepnag.data import write_synthetic_kinect, write_synthetic_pen
from deepnag.main import main
from motionkit.errors import run_cli
from motionkit.faults import assert_one_line_error, flip_bytes, limit_file_size, truncate, write_non_utf8
from motionkit.faults import run_cli as run_subprocess
from motionkit.training import load_checkpoint

SMALL = [f"--config={TEST_CONFIG}", "--device=cpu", "--render-after-training=0", "--checkpoint-every=1"]
fault = pytest.mark.fault


def _one_line(capsys, code, *needles):
    """In-process CLI: exit 2, no traceback, exactly one `error:` line holding every needle; returns it."""
    err_text = capsys.readouterr().err
    err = [line for line in err_text.splitlines() if line.startswith("error:")]
    assert code == 2 and len(err) == 1 and "Traceback" not in err_text, err_text[-2000:]
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


def _train(tmp_path, name="r", epochs=2, *extra):
    """A finished tiny run (a checkpoint per epoch); returns its folder."""
    assert main([*SMALL, f"--log-dir={tmp_path}", f"--run-name={name}", f"--epochs={epochs}", *extra]) == 0
    return tmp_path / "deepnag" / name


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One finished tiny run shared by cases that must leave it (and its log folder) exactly as it is."""
    return _train(tmp_path_factory.mktemp("shared"), epochs=1)


def _finite(state, module="generator"):
    return all(bool(torch.isfinite(v).all()) for v in state["modules"][module].values())


def _same_weights(a, b, module="generator"):
    return all(torch.equal(v, b["modules"][module][k]) for k, v in a["modules"][module].items())


# ------------------------------------------------------------------------------------------ 1 divergence


@fault(1, "--lr 1e30 on resume: one line, last.pt/best.pt finite and unchanged, a lower --lr continues")
@pytest.mark.parametrize("model", ["DeepNAG", "DeepGAN"])
def test_divergence_stops_in_one_line_keeps_the_good_checkpoints_and_a_lower_lr_continues(tmp_path, capsys, model):
    run = _train(tmp_path, "div", 2, f"--model={model}")
    argv = [*SMALL, f"--log-dir={tmp_path}", "--run-name=div", f"--model={model}", "--resume"]
    last, best = load_checkpoint(run / "last.pt"), load_checkpoint(run / "best.pt")
    capsys.readouterr()
    _one_line(capsys, run_cli(main, [*argv, "--epochs=4", "--lr=1e30"]), "diverged", "--lr")
    for name, before in (("last.pt", last), ("best.pt", best)):
        after = load_checkpoint(run / name)  # loadable, finite, and still the good state
        assert after["step"] == before["step"] and _finite(after) and _same_weights(before, after), name
    assert yaml.safe_load((run / "config.yaml").read_text())["lr"] == 1e-4  # the record still describes last.pt
    assert main([*argv, "--epochs=3", "--lr=5e-5"]) == 0  # a lower lr continues from the good state
    state = load_checkpoint(run / "last.pt")
    assert state["step"] == 3 and _finite(state)
    assert state["modules"]["optimizer"]["param_groups"][0]["lr"] == 5e-5


@fault(1, "--lr 1e30 from the start: one line, no checkpoint of the diverged weights")
def test_divergence_in_a_new_run_writes_no_checkpoint(tmp_path, capsys):
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=fresh", "--epochs=2", "--lr=1e30"])
    _one_line(capsys, code, "diverged", "--lr 1e+30")
    assert not list((tmp_path / "deepnag" / "fresh").glob("*.pt"))


@fault(1, "--resume from a last.pt that an older version's divergence poisoned: one line naming it, not NaN losses")
@pytest.mark.parametrize("value", [float("nan"), 1e30], ids=["nan", "exploded"])
def test_resume_from_a_poisoned_checkpoint_is_one_line(tmp_path, capsys, value):
    run = _train(tmp_path)
    state = torch.load(run / "last.pt", weights_only=False)
    next(iter(state["modules"]["generator"].values())).view(-1)[0] = value
    torch.save(state, run / "last.pt")  # bypasses save_checkpoint's check, as the old code did
    capsys.readouterr()
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3"])
    _one_line(capsys, code, "last.pt", "diverged run", "ckpt_")
    assert not (run / "ckpt_00000003.pt").exists()


@fault(1, "a non-finite --lr on resume never reaches best.pt")
@pytest.mark.parametrize("lr", ["inf", "nan", "-inf"])
def test_non_finite_lr_on_resume_is_one_line_and_best_is_untouched(tmp_path, capsys, lr):
    run = _train(tmp_path)
    best, config = (run / "best.pt").read_bytes(), (run / "config.yaml").read_bytes()
    capsys.readouterr()
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3", f"--lr={lr}"])
    _one_line(capsys, code, "--lr", "finite")
    assert (run / "best.pt").read_bytes() == best and (run / "config.yaml").read_bytes() == config


# ------------------------------------------------------------------------------- 2 resume with a change


@fault(2, "--resume with a new --lr: applied to the optimiser, logged, recorded in config.yaml")
def test_resume_with_a_new_lr_applies_it_and_says_so(tmp_path, capsys):
    run = _train(tmp_path)
    capsys.readouterr()
    assert main([*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3", "--lr=3e-5"]) == 0
    out = capsys.readouterr().out
    assert "changed since the saved run: lr: 0.0001 -> 3e-05" in out
    assert "optimiser lr: 0.0001 -> 3e-05 (from the config)" in out
    state = load_checkpoint(run / "last.pt")
    assert state["modules"]["optimizer"]["param_groups"][0]["lr"] == 3e-5 and state["step"] == 3
    assert yaml.safe_load((run / "config.yaml").read_text())["lr"] == 3e-5


@fault(2, "--resume with a setting the saved weights cannot take: one line, config.yaml and last.pt untouched")
@pytest.mark.parametrize("flag,key", [("--latent-dim=4", "latent_dim"), ("--model=DeepGAN", "model"),
                                      ("--generator-hidden=8,8,8", "generator_hidden"),
                                      ("--resample-n=12", "resample_n")])
def test_resume_with_a_setting_that_cannot_change_is_refused_in_one_line(tmp_path, capsys, flag, key):
    run = _train(tmp_path)
    config, last = (run / "config.yaml").read_bytes(), (run / "last.pt").read_bytes()
    capsys.readouterr()
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3", flag])
    _one_line(capsys, code, key, "config.yaml")
    assert (run / "config.yaml").read_bytes() == config and (run / "last.pt").read_bytes() == last


# ----------------------------------------------------------------------------------- 3 bad values refused


@fault(3, "an out-of-range value in a config file: one line naming it, no run folder")
@pytest.mark.parametrize("text,needle", [
    ("sdtw_gamma: 0\n", "sdtw-gamma"), ("beta1: 1.5\n", "beta1"), ("beta0: -0.1\n", "beta0"),
    ("generator_hidden: [8, 0]\n", "generator-hidden"), ("critic_hidden: []\n", "critic-hidden"),
    ("log_every: 0\n", "log-every"), ("epochs: -5\n", "epochs"), ("epochs: 0\n", "epochs"),
    ("batch_size: 0\n", "batch-size"), ("checkpoint_every: -1\n", "checkpoint-every"),
    ("keep_checkpoints: -1\n", "keep-checkpoints"), ("vis_frequency: -1\n", "vis-frequency"),
    ("resample_n: 2\n", "resample-n"), ("latent_dim: 0\n", "latent-dim"), ("critic_iters: 0\n", "critic-iters"),
    ("lr: -1\n", "lr"), ("lr: .nan\n", "lr"), ("lr: .inf\n", "lr"), ("resample_weight: -1\n", "resample-weight"),
    ("gp_lambda: .inf\n", "gp-lambda"), ("seed: -2\n", "seed"), ("synthetic_seed: -1\n", "synthetic-seed"),
    ("eval_seed: -1\n", "eval-seed"), ("eval_samples_per_class: 0\n", "eval-samples-per-class"),
    ("gif_classes: 0\n", "gif-classes"), ("synthetic_subjects: 0\n", "synthetic-subjects"),
    ("synthetic_repetitions: 0\n", "synthetic-repetitions"), ("precision: fp8\n", "fp8"),
    ("epochs: three\n", "epochs"),
])
def test_out_of_range_config_values_are_one_line_before_any_work(tmp_path, capsys, text, needle):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    _one_line(capsys, run_cli(main, [f"--config={bad}", f"--log-dir={tmp_path}"]), needle, "bad.yaml")
    assert not (tmp_path / "deepnag").exists()


@fault(3, "an out-of-range value given as a flag: one line naming the flag, no run folder")
@pytest.mark.parametrize("flag,needle", [("--epochs=0", "--epochs"), ("--batch-size=0", "batch-size"),
                                         ("--lr=inf", "--lr"), ("--seed=-7", "--seed"),
                                         ("--checkpoint-every=-1", "checkpoint-every")])
def test_out_of_range_flags_are_one_line_before_any_work(tmp_path, capsys, flag, needle):
    _one_line(capsys, run_cli(main, [*SMALL, f"--log-dir={tmp_path}", flag]), needle)
    assert not (tmp_path / "deepnag").exists()


@fault(3, "a --run-name or --experiment-name that is a path: one line, nothing written outside <log-dir>/deepnag")
@pytest.mark.parametrize("flag", ["--run-name=../../escape", "--run-name=a/b", "--run-name=..",
                                  "--experiment-name=../up", "--run-name=a\\b"])
def test_a_run_name_that_is_a_path_is_one_line(tmp_path, capsys, flag):
    log_dir = tmp_path / "logs"
    _one_line(capsys, run_cli(main, [*SMALL, f"--log-dir={log_dir}", flag]), flag.split("=")[0], "plain folder name")
    assert not log_dir.exists() and sorted(p.name for p in tmp_path.iterdir()) == []


@fault(4, "a file where --datapath's folder belongs: one line naming it, not a download attempt")
def test_a_file_as_datapath_is_one_line(tmp_path, capsys):
    (tmp_path / "data.zip").write_bytes(b"PK not unpacked")
    code = run_cli(main, [*SMALL, "--dataset=dollar-gds", f"--datapath={tmp_path / 'data.zip'}", "--epochs=1",
                          f"--log-dir={tmp_path}"])
    line = _one_line(capsys, code, "data.zip", "--datapath")
    assert "download" not in line


@fault(3, "an out-of-range evaluate/sample option: one line")
@pytest.mark.parametrize("argv,needle", [
    (["sample", "{ck}", "--num-samples=0", "--out={tmp}/s"], "--num-samples"),
    (["sample", "{ck}", "--formats=png", "--out={tmp}/s"], "png"),
    (["evaluate", "{ck}", "--metrics", "--metrics-subjects=0"], "metrics-subjects"),
    (["evaluate", "{ck}", "--metrics", "--metrics-subjects=-1"], "metrics-subjects"),
    (["evaluate", "{ck}", "--metrics-subjects=1"], "pass --metrics"),  # silently ignored before
    (["sample", "{ck}", "--num-samples=100000000", "--out={tmp}/s"], "GiB"),  # was an out-of-memory kill
])
def test_out_of_range_evaluate_and_sample_options_are_one_line(finished_run, capsys, argv, needle):
    ck, tmp_path = finished_run / "last.pt", finished_run.parent.parent
    capsys.readouterr()
    argv = [a.format(ck=ck, tmp=tmp_path) for a in argv]
    _one_line(capsys, run_cli(main, [*argv, f"--log-dir={tmp_path}"]), needle)
    assert not (tmp_path / "s").exists() and not list((tmp_path / "deepnag").glob("eval-*"))


@fault(3, "checkpoint_every 0 means 'at the end only': trains, one checkpoint, no ZeroDivisionError")
def test_checkpoint_every_zero_checkpoints_once_at_the_end(tmp_path):
    run = _train(tmp_path, "end", 3, "--checkpoint-every=0")
    assert sorted(p.name for p in run.glob("ckpt_*.pt")) == ["ckpt_00000003.pt"]
    assert load_checkpoint(run / "last.pt")["step"] == 3


@fault(3, "a batch size that does not divide the data set, or exceeds it: every sample trains, no batch skipped")
@pytest.mark.parametrize("batch_size", [1, 5, 10**6])
def test_no_batch_size_skips_the_data(tmp_path, batch_size):
    run = _train(tmp_path, "b", 2, f"--batch-size={batch_size}", "--synthetic-subjects=1", "--synthetic-repetitions=1")
    state = load_checkpoint(run / "last.pt")  # 16 samples (one per class)
    adam_steps = int(state["modules"]["optimizer"]["state"][0]["step"])
    assert adam_steps == 2 * -(-16 // batch_size)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(np.isfinite(r["loss"]) for r in rows)


def _pen_set(tmp_path):
    root = tmp_path / "data"
    write_synthetic_pen(root, n_subjects=1, n_repetitions=1)
    return root, sorted(root.rglob("*.xml"))[3]


def _kinect_set(tmp_path):
    root = tmp_path / "data"
    write_synthetic_kinect(root, n_subjects=1, n_repetitions=1)
    return root, sorted(root.rglob("*.txt"))[2]


def _train_on(tmp_path, dataset, root):
    return run_cli(main, [*SMALL, f"--dataset={dataset}", f"--data-root={root}", "--epochs=1", f"--log-dir={tmp_path}"])


@fault(3, "a non-finite or impossible coordinate in a $1 XML file: one line naming it")
@pytest.mark.parametrize("value,needle", [("inf", "non-finite"), ("nan", "non-finite"), ("1e300", "pixels")])
def test_bad_point_in_a_dollar_file_is_one_line(tmp_path, capsys, value, needle):
    root, victim = _pen_set(tmp_path)
    victim.write_bytes(victim.read_bytes().replace(b'X="', f'X="{value}" Xold="'.encode(), 1))
    _one_line(capsys, _train_on(tmp_path, "dollar-gds", root), victim.name, needle)


@fault(3, "a non-finite or impossible coordinate in a JK2017 file: one line naming it")
@pytest.mark.parametrize("value,needle", [("nan", "non-finite"), ("1e400", "non-finite"), ("1e300", "m (a Kinect")])
def test_bad_coordinate_in_a_jk2017_file_is_one_line(tmp_path, capsys, value, needle):
    root, victim = _kinect_set(tmp_path)
    lines = victim.read_text().splitlines()
    lines[5] = f"0.1,{value},2.5"
    victim.write_text("\n".join(lines) + "\n")
    _one_line(capsys, _train_on(tmp_path, "jk2017-kinect", root), victim.name, needle)


@fault(3, "a data set with a class that has no samples: one line before training, not a crash at the render")
@pytest.mark.parametrize("dataset", ["dollar-gds", "jk2017-kinect"])
def test_a_data_set_missing_a_class_is_one_line(tmp_path, capsys, dataset):
    root, victim = _pen_set(tmp_path) if dataset == "dollar-gds" else _kinect_set(tmp_path)
    victim.unlink()  # one sample per class: its class is gone
    if dataset == "jk2017-kinect":
        victim.parent.rmdir()
    _one_line(capsys, _train_on(tmp_path, dataset, root), str(root), "1 of", "missing")
    assert not list((tmp_path / "deepnag").rglob("*.pt"))


@fault(3, "more torchrun processes than samples: one line, not epochs of zero batches")
def test_more_processes_than_samples_is_one_line():
    from deepnag.train import shard_size
    from motionkit.errors import ConfigError

    assert shard_size(17, 4) == 16 and shard_size(4, 4) == 4
    with pytest.raises(ConfigError, match="3 samples, fewer than the 4 processes"):
        shard_size(3, 4)


@fault(3, "evaluate --metrics on a data set of one subject: one line (the protocol needs two), no render first")
def test_metrics_on_one_subject_is_one_line(finished_run, tmp_path, capsys):
    root, _ = _pen_set(tmp_path)  # one subject
    argv = ["evaluate", str(finished_run / "last.pt"), "--metrics", "--dataset=dollar-gds", f"--data-root={root}"]
    _one_line(capsys, run_cli(main, [*argv, f"--log-dir={tmp_path}", "--no-show"]), "--metrics", "1 subject")
    assert not (tmp_path / "deepnag").exists()


# ------------------------------------------------------------------------ 4 one line instead of a traceback


def _our_checkpoint(tmp_path, path):
    path.write_bytes((_train(tmp_path, epochs=1) / "last.pt").read_bytes())


def _original(tmp_path, path):
    write_original_checkpoint(path)


def _original_legacy(tmp_path, path):
    write_original_checkpoint(path, legacy=True)


@fault(4, "a damaged checkpoint given to evaluate: one line naming it")
@pytest.mark.parametrize("write", [_our_checkpoint, _original, _original_legacy], ids=["ours", "original", "legacy"])
@pytest.mark.parametrize("damage", [lambda p: flip_bytes(p, 100, start=200), lambda p: truncate(p, 0.5)],
                         ids=["flipped", "truncated"])
def test_damaged_checkpoints_are_refused_in_one_line(tmp_path, capsys, write, damage):
    path = tmp_path / ("ours.pt" if write is _our_checkpoint else "checkpoint-best.tar")
    write(tmp_path, path)
    damage(path)
    capsys.readouterr()
    _one_line(capsys, run_cli(main, [f"--evaluate={path}", f"--log-dir={tmp_path}"]), path.name)


@fault(4, "--resume from a damaged last.pt: one line naming it, the file left for the user")
@pytest.mark.parametrize("damage", [lambda p: flip_bytes(p, 100, start=200), lambda p: truncate(p, 0.5)],
                         ids=["flipped", "truncated"])
def test_resume_from_a_damaged_last_checkpoint_is_one_line(tmp_path, capsys, damage):
    run = _train(tmp_path)
    damage(run / "last.pt")
    damaged = (run / "last.pt").read_bytes()
    capsys.readouterr()
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3"])
    _one_line(capsys, code, "last.pt")
    assert (run / "last.pt").read_bytes() == damaged and (run / "ckpt_00000002.pt").is_file()


@fault(4, "a damaged config.yaml in the run folder on --resume: one line naming it")
@pytest.mark.parametrize("damage", [lambda p: write_non_utf8(p, p.read_text()), lambda p: p.write_text("lr: [\n")],
                         ids=["utf16", "invalid-yaml"])
def test_resume_with_a_damaged_saved_config_is_one_line(tmp_path, capsys, damage):
    run = _train(tmp_path)
    damage(run / "config.yaml")
    capsys.readouterr()
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3"])
    _one_line(capsys, code, "config.yaml")
    assert load_checkpoint(run / "last.pt")["step"] == 2


@fault(2, "--resume of a run whose config.yaml was deleted: resumed with last.pt's settings (said so), not defaults")
def test_resume_without_config_yaml_uses_the_checkpoint_settings(tmp_path, capsys):
    run = _train(tmp_path)
    (run / "config.yaml").unlink()
    capsys.readouterr()  # no --config: the defaults would be synthetic-kinect with other widths
    argv = [f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3", "--device=cpu"]
    assert main([*argv, "--render-after-training=0", "--lr=5e-5"]) == 0
    assert "config.yaml: missing; resuming with the settings stored in last.pt" in capsys.readouterr().out
    state = load_checkpoint(run / "last.pt")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert state["step"] == 3 and saved["dataset"] == "synthetic-pen" and saved["lr"] == 5e-5
    assert saved["generator_hidden"] == state["extra"]["config"]["generator_hidden"] == [8, 8, 16]


@fault(2, "--resume without config.yaml and with a setting the weights cannot take: one line, nothing written")
def test_resume_without_config_yaml_refuses_a_changed_width(tmp_path, capsys):
    run = _train(tmp_path)
    (run / "config.yaml").unlink()
    last = (run / "last.pt").read_bytes()
    capsys.readouterr()
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3", "--latent-dim=4"])
    _one_line(capsys, code, "last.pt", "latent_dim")
    assert (run / "last.pt").read_bytes() == last and not (run / "config.yaml").exists()


@fault(7, "--resume of a run whose config.yaml is empty: one line naming it, not 'last.pt does not fit'")
def test_resume_with_an_empty_config_yaml_is_one_line(tmp_path, capsys):
    run = _train(tmp_path)
    (run / "config.yaml").write_text("")
    last = (run / "last.pt").read_bytes()
    capsys.readouterr()
    code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=3"])
    line = _one_line(capsys, code, "config.yaml", "no settings")
    assert "does not fit" not in line and (run / "last.pt").read_bytes() == last


@fault(4, "a folder or a missing file where a checkpoint or config belongs: one line naming it")
@pytest.mark.parametrize("argv,needle", [(["sample", "{tmp}/empty", "--out={tmp}/o"], "empty"),
                                         (["evaluate", "{tmp}/empty/x.pt"], "x.pt"),
                                         (["convert", "{tmp}/nope.tar", "{tmp}/x.pt"], "nope.tar"),
                                         (["convert", "{tmp}/empty", "{tmp}/x.pt"], "empty"),
                                         (["--config={tmp}/empty"], "empty")])
def test_a_folder_or_missing_file_is_one_line(tmp_path, capsys, argv, needle):
    (tmp_path / "empty").mkdir()
    code = run_cli(main, [*(a.format(tmp=tmp_path) for a in argv), f"--log-dir={tmp_path}"])
    _one_line(capsys, code, needle)
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "o").exists()


@fault(4, "a folder where the converter's output file belongs, a file where sample's output folder belongs")
@pytest.mark.parametrize("verb", ["convert", "sample"])
def test_output_of_the_wrong_kind_is_one_line(tmp_path, capsys, verb):
    src = tmp_path / "checkpoint-best.tar"
    write_original_checkpoint(src)
    if verb == "convert":
        (tmp_path / "out").mkdir()
        argv = ["convert", str(src), str(tmp_path / "out")]
    else:
        (tmp_path / "out").write_text("a file")
        argv = ["sample", str(src), f"--out={tmp_path / 'out'}"]
    _one_line(capsys, run_cli(main, argv), "out", "folder")


@fault(4, "the original's converter given a foreign pickle: refused by the restricted unpickler, nothing run")
@pytest.mark.parametrize("writer", ["pickle", "torch"])
def test_converter_refuses_a_pickle_that_would_run_code(tmp_path, capsys, writer):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "checkpoint-best.tar"
    if writer == "pickle":
        path.write_bytes(pickle.dumps({"model": Payload()}))
    else:
        torch.save({"model": "DeepNAG", "generator": {}, "normalizer": Payload()}, path)
    _one_line(capsys, run_cli(main, ["convert", str(path), str(tmp_path / "x.pt")]), path.name, "refused")
    assert not marker.exists() and not (tmp_path / "x.pt").exists()


def _foreign_dict(path):
    torch.save({"state_dict": {"w": torch.zeros(2)}}, path)


def _nan_original(path):
    write_original_checkpoint(path)
    state = torch.load(path, weights_only=False)
    state["generator"]["module.fc.0.weight"][0, 0] = float("nan")
    torch.save(state, path)


def _top_level_list(path):
    torch.save([1, 2, 3], path)


@fault(4, "a readable torch file that is not a deepnag checkpoint, or holds NaN weights: one line, nothing written")
@pytest.mark.parametrize("write", [_foreign_dict, _nan_original, _top_level_list], ids=["foreign", "nan", "list"])
@pytest.mark.parametrize("verb", ["convert", "sample"])
def test_foreign_checkpoints_are_one_line(tmp_path, capsys, write, verb):
    path = tmp_path / "other.tar"
    write(path)
    out = tmp_path / "out"
    argv = ["convert", str(path), str(out)] if verb == "convert" else ["sample", str(path), f"--out={out}"]
    _one_line(capsys, run_cli(main, argv), "other.tar")
    assert not out.exists()


def _wrong_shape_original(path):
    write_original_checkpoint(path)
    state = torch.load(path, weights_only=False)
    key = next(iter(state["generator"]))
    state["generator"][key] = state["generator"][key][:1]  # the right keys, a weight of another width
    torch.save(state, path)


@fault(4, "convert of an original checkpoint whose weights do not fit its sizes: one line, no file written")
def test_convert_refuses_weights_of_another_shape(tmp_path, capsys):
    src = tmp_path / "other.tar"
    _wrong_shape_original(src)
    _one_line(capsys, run_cli(main, ["convert", str(src), str(tmp_path / "x.pt")]), "other.tar", "do not fit")
    assert not (tmp_path / "x.pt").exists()


@fault(7, "evaluate/sample with a flag the trained generator cannot take, or a data set of the other kind: one line")
@pytest.mark.parametrize("flag,needle", [("--latent-dim=4", "--latent-dim"), ("--generator-hidden=4,4,4", "hidden"),
                                         ("--model=DeepGAN", "--model"), ("--dataset=synthetic-kinect", "pen")])
@pytest.mark.parametrize("verb", ["evaluate", "sample"])
def test_evaluate_and_sample_refuse_flags_the_weights_fix(finished_run, capsys, flag, needle, verb):
    tmp_path = finished_run.parent.parent
    out = tmp_path / "s"
    argv = ["evaluate", str(finished_run / "last.pt"), "--no-show"] if verb == "evaluate" else [
        "sample", str(finished_run / "last.pt"), f"--out={out}"]
    before = sorted(p.name for p in (tmp_path / "deepnag").iterdir())
    capsys.readouterr()
    _one_line(capsys, run_cli(main, [*argv, flag, f"--log-dir={tmp_path}"]), needle, "last.pt")
    assert not out.exists() and sorted(p.name for p in (tmp_path / "deepnag").iterdir()) == before


_NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@fault(4, "a device this machine lacks, or a bogus device name: one line naming the device, not the checkpoint")
@pytest.mark.parametrize("device", [pytest.param("cuda", marks=_NO_CUDA), pytest.param("cuda:1", marks=_NO_CUDA),
                                    "gpu7", "meta"])
@pytest.mark.parametrize("verb", ["train", "resume", "evaluate", "sample", "convert"])
def test_devices_are_one_line_that_does_not_blame_the_checkpoint(finished_run, capsys, verb, device):
    run = finished_run  # read only: nothing may be written by any of these cases
    tmp_path = run.parent.parent
    before = sorted(p.name for p in (tmp_path / "deepnag").iterdir())
    config = (run / "config.yaml").read_bytes()
    argv = {"train": [*SMALL, "--run-name=new"], "resume": [*SMALL, "--run-name=r", "--resume", "--epochs=2"],
            "evaluate": ["evaluate", str(run / "last.pt")],
            "sample": ["sample", str(run / "last.pt"), f"--out={tmp_path / 's'}"],
            "convert": ["convert", str(run / "last.pt"), str(tmp_path / "s")]}[verb]
    capsys.readouterr()
    line = _one_line(capsys, run_cli(main, [*argv, f"--log-dir={tmp_path}", f"--device={device}"]), repr(device))
    assert "checkpoint" not in line  # class 7 too: the good checkpoint is not blamed
    assert sorted(p.name for p in (tmp_path / "deepnag").iterdir()) == before and not (tmp_path / "s").exists()
    assert (run / "config.yaml").read_bytes() == config


@fault(4, "disk full while training (file-size limit, subprocess): one line, earlier checkpoint intact, no .tmp")
def test_full_disk_during_training_is_one_line_and_keeps_the_earlier_checkpoint(tmp_path):
    run = _train(tmp_path)
    last = (run / "last.pt").read_bytes()
    result = run_subprocess("deepnag.main", [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=4"],
                            preexec_fn=limit_file_size(len(last) // 2), timeout=240)
    assert_one_line_error(result, "cannot write", "disk")
    assert (run / "last.pt").read_bytes() == last and load_checkpoint(run / "last.pt")["step"] == 2
    assert _finite(load_checkpoint(run / "best.pt"))
    assert not list(run.glob("*.tmp")) and not list(run.glob(".*.tmp"))


@fault(4, "disk full while writing samples, a converted checkpoint or the synthetic set: one line, no half file")
@pytest.mark.parametrize("job", ["sample", "convert", "synthetic"])
def test_full_disk_outside_training_is_one_line_and_leaves_no_half_file(tmp_path, job):
    src = tmp_path / "checkpoint-best.tar"
    write_original_checkpoint(src, hidden=(64, 64, 64))  # ~270 kB: more than the limit
    out = tmp_path / "out"
    argv = {"sample": ["sample", str(src), f"--out={out}", "--num-samples=50"],
            "convert": ["convert", str(src), str(out / "ours.pt")],
            "synthetic": [*SMALL, f"--log-dir={out}", "--epochs=1"]}[job]
    limit = 2_000 if job == "synthetic" else 20_000  # below one $1 XML file, above config.yaml
    result = run_subprocess("deepnag.main", argv, preexec_fn=limit_file_size(limit), timeout=240)
    what = {"sample": "the samples", "convert": "ours.pt", "synthetic": "the synthetic data set"}[job]
    assert_one_line_error(result, str(out), what, "cannot write", "disk")
    left = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".npz", ".pt", ".tmp", ".xml")]
    assert left == [], left


@fault(4, "a malformed, non-UTF-8 or folder JK2017 file: one line naming it")
@pytest.mark.parametrize("damage,needle", [
    (lambda p: p.write_bytes(p.read_text().encode("utf-16")), "UTF-8"),
    (lambda p: p.write_bytes(b"\xff\xfe\x00\x81 binary"), "UTF-8"),
    (lambda p: p.write_text(""), "too short"),
    (lambda p: p.write_text("\n".join([p.read_text().splitlines()[0], "-2"])), "frames"),
    (lambda p: (p.unlink(), p.mkdir()), "folder"),
], ids=["utf16", "binary", "empty", "negative-frames", "folder"])
def test_malformed_jk2017_file_through_the_cli_is_one_line(tmp_path, capsys, damage, needle):
    root, victim = _kinect_set(tmp_path)
    damage(victim)
    _one_line(capsys, _train_on(tmp_path, "jk2017-kinect", root), victim.name, needle)


@fault(4, "a malformed, non-UTF-8 or folder $1 XML file: one line naming it")
@pytest.mark.parametrize("damage,needle", [
    (lambda p: p.write_bytes(p.read_bytes().decode("utf-8-sig").encode("utf-16")), "not a valid $1 XML"),
    (lambda p: p.write_bytes(p.read_bytes().replace(b"Gesture Name", b"Gesture N\xe9me='x' Name")), "not a valid"),
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "not a valid $1 XML"),
    (lambda p: p.write_bytes(b""), "not a valid $1 XML"),
    (lambda p: (p.unlink(), p.mkdir()), "folder"),
], ids=["utf16", "latin1-byte", "truncated", "empty", "folder"])
def test_malformed_dollar_file_through_the_cli_is_one_line(tmp_path, capsys, damage, needle):
    root, victim = _pen_set(tmp_path)
    damage(victim)
    _one_line(capsys, _train_on(tmp_path, "dollar-gds", root), victim.name, needle)


@fault(4, "a file where the data root folder belongs: one line naming it")
@pytest.mark.parametrize("dataset", ["dollar-gds", "jk2017-kinect", "synthetic-pen"])
def test_a_file_as_data_root_is_one_line(tmp_path, capsys, dataset):
    root = tmp_path / "data.zip"
    root.write_bytes(b"PK not unpacked")
    _one_line(capsys, _train_on(tmp_path, dataset, root), "data.zip", "not the data set's folder")
    assert root.read_bytes() == b"PK not unpacked"


@fault(4, "a non-UTF-8 config file: one line naming it")
def test_non_utf8_config_is_one_line(tmp_path, capsys):
    bad = tmp_path / "utf16.yaml"
    write_non_utf8(bad, "epochs: 3\n")
    _one_line(capsys, run_cli(main, [f"--config={bad}", f"--log-dir={tmp_path}"]), "utf16.yaml", "UTF-8")


# -------------------------------------------------------------------------- 6 two runs, one folder or cache


@fault(6, "a second run into a folder another process holds: one line, nothing of the folder changed")
def test_a_second_run_into_a_locked_folder_is_one_line_and_writes_nothing(tmp_path, capsys):
    from motionkit.runfolder import open_run_folder

    def files():  # what a run writes (.lock and run.json belong to whoever holds the folder)
        return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name not in (".lock", "run.json")}

    run = _train(tmp_path)
    holder = open_run_folder(run, resuming=True)  # another process holds it
    before = files()
    capsys.readouterr()
    try:
        code = run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=r", "--resume", "--epochs=4", "--lr=5e-5"])
        _one_line(capsys, code, "in use by another process")
        assert files() == before and json.loads((run / "run.json").read_text())["status"] == "running"
    finally:
        holder.close("finished")


def _synthetic_root(tmp_path):
    (root,) = (tmp_path / "deepnag" / "_synthetic").iterdir()
    return root


@fault(6, "a damaged stamp of the shared synthetic-data cache: the set is rewritten, the run trains")
@pytest.mark.parametrize("damage", [lambda p: p.write_text("{not json"), lambda p: write_non_utf8(p, "{}"),
                                    lambda p: (p.unlink(), p.mkdir()), lambda p: p.unlink()],
                         ids=["malformed-json", "utf16", "folder", "missing"])
def test_a_damaged_synthetic_cache_is_rewritten(tmp_path, damage):
    _train(tmp_path, "a", 1)
    root = _synthetic_root(tmp_path)
    victim = sorted(root.rglob("*.xml"))[0]
    victim.write_text("half a file")  # what a writer killed mid-set leaves (its stamp is written last)
    damage(root / "GENERATED.json")
    _train(tmp_path, "b", 1)
    assert json.loads((root / "GENERATED.json").read_text())["dataset"] == "synthetic-pen"
    assert victim.read_bytes().startswith(b"\xef\xbb\xbf<?xml")  # rewritten whole
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]


# --------------------------------------------------------------------------------- 7 leftovers, misleading lines


@fault(7, "a .tmp left in the run folder by a killed checkpoint write is removed on --resume")
def test_a_stale_tmp_in_the_run_folder_is_cleaned_on_resume(tmp_path):
    run = _train(tmp_path)
    stale = run / ".last.pt.k1ll3d.tmp"
    stale.write_bytes(b"half a checkpoint")
    _train(tmp_path, "r", 3, "--resume")
    assert not stale.exists() and load_checkpoint(run / "last.pt")["step"] == 3


@fault(7, "the temporary folder of a synthetic-set writer that was killed is removed by the next writer")
def test_a_dead_writers_synthetic_tmp_folder_is_removed(tmp_path):
    proc = subprocess.Popen(["true"])
    proc.wait()  # a writer that has ended: its pid names no process now
    pid = proc.pid
    cache = tmp_path / "deepnag" / "_synthetic"
    leftover = cache / f".synthetic-pen-v1-s2-r2-seed0.{pid}.tmp"
    (leftover / "xml_logs").mkdir(parents=True)
    _train(tmp_path, "a", 1)
    assert not leftover.exists() and (cache / "synthetic-pen-v1-s2-r2-seed0" / "GENERATED.json").is_file()


@fault(7, "evaluating the latest run of a name when that run failed before its first checkpoint")
def test_a_run_without_a_checkpoint_is_not_called_a_non_run_folder(tmp_path, capsys):
    run_cli(main, [*SMALL, f"--log-dir={tmp_path}", "--run-name=dead", "--epochs=2", "--lr=1e30"])  # diverges
    capsys.readouterr()
    line = _one_line(capsys, run_cli(main, ["evaluate", "run:dead", f"--log-dir={tmp_path}"]), "dead", "no checkpoint")
    assert "not a run folder" not in line


@fault(7, "an invalid value stored in a checkpoint's config is blamed on the checkpoint, not on a flag")
@pytest.mark.parametrize("verb", ["evaluate", "sample"])
def test_an_invalid_stored_config_names_the_checkpoint(finished_run, tmp_path, capsys, verb):
    state = torch.load(finished_run / "last.pt", weights_only=False)
    state["extra"]["config"]["eval_seed"] = -5  # what a run that crashed rendering at its end could have saved
    path = tmp_path / "odd.pt"
    torch.save(state, path)
    argv = ["evaluate", str(path)] if verb == "evaluate" else ["sample", str(path), f"--out={tmp_path / 's'}"]
    line = _one_line(capsys, run_cli(main, [*argv, f"--log-dir={tmp_path}"]), "odd.pt", "eval-seed")
    assert "option" not in line
    assert main([*argv, f"--log-dir={tmp_path}", "--eval-seed=3", "--no-show"] if verb == "evaluate"
                else [*argv, "--eval-seed=3"]) == 0  # the flag that may override it does


@fault(7, "metrics.jsonl rows logged after the last checkpoint of a killed run are not repeated on --resume")
def test_resume_does_not_repeat_metrics_rows(tmp_path):
    run = _train(tmp_path)
    with open(run / "metrics.jsonl", "a") as handle:  # logged, then killed before the epoch-3 checkpoint
        handle.write(json.dumps({"step": 3, "loss": 1.0}) + "\n")
    _train(tmp_path, "r", 4, "--resume")
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]
