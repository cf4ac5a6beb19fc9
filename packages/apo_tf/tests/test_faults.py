"""Nothing lost, nothing silent (issue 20): divergence never reaches a checkpoint, resume applies or refuses a
changed setting, bad values are refused before anything is written, damaged checkpoints and data are one line,
the run folder and the generated data are safe from a second process, and killed writes leave nothing behind.

Every test here is a fault case (``@pytest.mark.fault(class, what)``, classes of issue 20); one case is one bad
input. Class 5 (the download cache) does not apply: apo_tf downloads nothing (its data are generated or converted
from files the user has).
"""

import json
import os
import shutil

import h5py
import numpy as np
import pytest
import tensorflow as tf

from apo_tf.main import main
from apo_tf.models import load_gan
from motionkit.errors import run_cli
from motionkit.faults import assert_one_line_error, flip_bytes, limit_file_size, truncate, write_non_utf8
from motionkit.faults import run_cli as run_subprocess

fault = pytest.mark.fault
RUN = "gan-synth_tiny"
DATA = "subjects/S1/sequences/Walking 1"


def _cli(capsys, home, *argv):
    """(exit status, the error lines of stderr: everything but the progress bars) of one command."""
    capsys.readouterr()
    code = run_cli(main, ["--home", str(home), *argv])
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    return code, [ln for ln in lines if ln.strip() and not ln.startswith(("train ", "infer ", "  "))]


def _train(capsys, home, *flags):
    return _cli(capsys, home, "train", "synth_tiny", "--max_steps", "60", "--ckpt_every", "60",
                "--iters_per_call", "5", *flags)


def _copy_gan(tiny_home, home):
    """A copy of the session's trained synth_tiny GAN (checkpoints 2400 and 3000) and its data under ``home``."""
    shutil.copytree(tiny_home / RUN, home / RUN)
    shutil.copytree(tiny_home / "data", home / "data")
    return home / RUN


SMALL_INFER = ["--max_sequences", "1", "--fast_iters", "1,0,0,0", "--maxiter", "3"]


@pytest.fixture(scope="module")
def infer_home(tiny_home, tmp_path_factory):
    """A home with the trained GAN, its data, and one inference run ``infer-synth_tiny`` of one sequence."""
    home = tmp_path_factory.mktemp("apo_infer")
    _copy_gan(tiny_home, home)
    assert run_cli(main, ["--home", str(home), "infer", "synth_tiny", *SMALL_INFER]) == 0
    return home


def _weights(run):
    return np.concatenate([w.numpy().ravel() for w in load_gan(run)[1].weights])


# --- class 1: divergence never reaches a checkpoint -------------------------------------------------------------

@fault(1, "--lr 1e30 on a resumed GAN; then a lower --lr continues from the last good checkpoint")
def test_divergence_is_never_checkpointed_and_a_lower_lr_continues(tmp_path, capsys):
    assert _train(capsys, tmp_path)[0] == 0
    code, err = _train(capsys, tmp_path, "--resume", "--max_steps", "90", "--lr", "1e30")
    assert code == 2 and len(err) == 1 and "diverged by global step" in err[0], err
    assert "ckpt-60, is the last good state" in err[0] and "--resume --lr" in err[0], err
    run = tmp_path / RUN
    assert tf.train.latest_checkpoint(str(run)).endswith("ckpt-60")  # the last good state
    assert "lr: 0.0001" in (run / "config.yaml").read_text()  # the record still matches it
    weights = _weights(run)
    assert np.isfinite(weights).all() and np.abs(weights).max() < 100
    assert [json.loads(ln)["step"] for ln in (run / "metrics.jsonl").read_text().splitlines()] == [60]
    capsys.readouterr()
    assert run_cli(main, ["--home", str(tmp_path), "train", "synth_tiny", "--max_steps", "120", "--ckpt_every", "60",
                          "--iters_per_call", "5", "--resume", "--lr", "5e-5"]) == 0
    assert "config change on resume: lr: 0.0001 -> 5e-05" in capsys.readouterr().out  # applied and logged
    assert load_gan(run)[3] == 120 and "lr: 5.0e-05" in (run / "config.yaml").read_text()


@fault(1, "a fresh GAN diverging before its first checkpoint (ReLU keeps the losses finite, the weights are not)")
@pytest.mark.parametrize("wgan_type", ["weight_clipped", "gradient_penalized"])
def test_divergence_before_any_checkpoint_saves_nothing_and_says_so(tmp_path, capsys, wgan_type):
    code, err = _train(capsys, tmp_path, "--lr", "1e30", "--wgan_type", wgan_type)
    assert code == 2 and len(err) == 1 and "diverged by global step 30" in err[0], err
    assert "no checkpoint was written yet" in err[0] and "--lr 1e+29" in err[0], err
    run = tmp_path / RUN
    assert not list(run.glob("ckpt-*")) and not (run / "metrics.jsonl").exists()  # nothing poisoned is kept
    assert json.loads((run / "run.json").read_text())["status"] == "failed"


# --- class 2: resume with a changed setting ---------------------------------------------------------------------

@fault(2, "--resume --lr 5e-5: applied, logged, recorded")
def test_resume_applies_a_new_learning_rate_and_logs_it(tiny_home, tmp_path, capsys):
    run = _copy_gan(tiny_home, tmp_path)
    capsys.readouterr()
    assert run_cli(main, ["--home", str(tmp_path), "train", "synth_tiny", "--resume", "--max_steps", "3600",
                          "--lr", "5e-5"]) == 0
    assert "config change on resume: lr: 0.0001 -> 5e-05" in capsys.readouterr().out
    assert "lr: 5.0e-05" in (run / "config.yaml").read_text() and load_gan(run)[3] == 3600


@fault(2, "--resume with a setting the saved weights cannot take: refused, the record untouched")
@pytest.mark.parametrize("flag, value, shown", [
    ("--n_g", "16", "n_g [32] -> [16]"),
    ("--n_z", "4", "n_z 8 -> 4"),
    ("--activation", "tanh", "activation 'relu' -> 'tanh'"),
    ("--wgan_type", "gradient_penalized", "wgan_type 'weight_clipped' -> 'gradient_penalized'"),
    ("--dataset", "synth_tiny_s14_consistent_scaled_c1", "dataset"),
])
def test_resume_refuses_a_change_it_cannot_apply(tiny_home, tmp_path, capsys, flag, value, shown):
    run = _copy_gan(tiny_home, tmp_path)
    saved = (run / "config.yaml").read_text()
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny", "--resume", "--max_steps", "6000", flag, value)
    assert code == 2 and len(err) == 1 and shown in err[0] and "drop --resume" in err[0], err
    assert (run / "config.yaml").read_text() == saved and "ckpt-3000.index" in {p.name for p in run.iterdir()}


@fault(2, "infer --resume with a changed loss weight: refused, the results untouched")
def test_inference_resume_refuses_a_changed_objective(infer_home, tmp_path, capsys):
    shutil.copytree(infer_home, tmp_path, dirs_exist_ok=True)
    results = (tmp_path / "infer-synth_tiny/results.hdf5").read_bytes()
    code, err = _cli(capsys, tmp_path, "infer", "synth_tiny", *SMALL_INFER, "--resume", "--critic_weight", "1")
    assert code == 2 and len(err) == 1 and "critic_weight 0.0 -> 1.0" in err[0], err
    assert (tmp_path / "infer-synth_tiny/results.hdf5").read_bytes() == results


# --- class 3: a bad value is refused before anything is written -------------------------------------------------

@fault(3, "an out-of-range config value, given as a flag")
@pytest.mark.parametrize("command, flag, value", [
    ("train", "--lr", "-1"), ("train", "--lr", "inf"), ("train", "--lr", "0"), ("train", "--clip", "-0.01"),
    ("train", "--n_z", "0"), ("train", "--batch_size", "0"), ("train", "--iters_per_call", "0"),
    ("train", "--max_steps", "-5"), ("train", "--n_critic", "0"), ("train", "--ckpt_every", "0"),
    ("train", "--log_every", "0"), ("train", "--keep_last", "0"), ("train", "--shuffle_buffer", "0"),
    ("train", "--rms_decay", "1"), ("train", "--rms_eps", "0"), ("train", "--adam_beta1", "-0.1"),
    ("train", "--adam_beta2", "1"), ("train", "--gp_lambda", "-1"), ("train", "--seed", "-1"),
    ("train", "--n_g", "0"), ("train", "--n_c", "-4"),
    ("infer", "--tol", "inf"), ("infer", "--maxiter", "0"), ("infer", "--scale_init", "0"),
    ("infer", "--critic_weight", "nan"), ("infer", "--consistency_weight", "-1"), ("infer", "--fast_iters", "0,0,0,0"),
    ("infer", "--max_sequences", "-1"), ("infer", "--seed", "-3"),
])
def test_bad_config_values_are_refused_before_anything_is_written(tmp_path, capsys, command, flag, value):
    code, err = _cli(capsys, tmp_path, command, "synth_tiny", flag, value)
    assert code == 2 and len(err) == 1 and f"option {flag}: {flag[2:]}" in err[0], err
    assert not list(tmp_path.iterdir())  # no run folder, no data


@fault(3, "--strategy mirrored with a batch the replicas cannot split evenly")
def test_a_batch_the_replicas_cannot_split_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch):
    import apo_tf.train

    class TwoReplicas:
        num_replicas_in_sync = 2

    monkeypatch.setattr(apo_tf.train, "make_strategy", lambda name: TwoReplicas())
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny", "--strategy", "mirrored", "--batch_size", "33")
    assert code == 2 and len(err) == 1 and "batch_size 33: not divisible by the 2 replicas" in err[0], err
    assert not list(tmp_path.iterdir())


@fault(3, "an out-of-range value in a YAML config: the file is named")
@pytest.mark.parametrize("line", ["lr: -1", "clip: -0.01", "n_z: 0", "batch_size: 0", "iters_per_call: 0"])
def test_bad_values_in_a_config_file_name_the_file(tmp_path, capsys, line):
    cfg = tmp_path / "gan.yaml"
    cfg.write_text(f"dataset: synth_tiny_consistent_scaled_c1\n{line}\n")
    code, err = _cli(capsys, tmp_path / "home", "train", str(cfg))
    assert code == 2 and len(err) == 1 and "gan.yaml" in err[0] and line.split(":")[0] in err[0], err
    assert not (tmp_path / "home").exists()


def _edit_data(home, edit):
    with h5py.File(home / "data" / "synth_tiny.hdf5", "a") as f:
        edit(f)


def _set(key, frame, value):
    def edit(f):
        a = f[key][()].astype(np.float64)
        a[frame, 3, 0] = value
        del f[key]
        f.create_dataset(key, data=a)
    return edit


@fault(3, "a non-finite or absurd value in the data file")
@pytest.mark.parametrize("key, value, shown", [
    (f"{DATA}/views/55011271/p2", np.inf, "frame 7 holds inf"),
    (f"{DATA}/p3", 1e300, "frame 7 holds 1e+300"),
    (f"{DATA}/p3", np.nan, "frame 7 holds nan"),
])
def test_non_finite_data_are_one_line(tiny_home, tmp_path, capsys, key, value, shown):
    shutil.copytree(tiny_home / "data", tmp_path / "data")
    _edit_data(tmp_path, _set(key, 7, value))
    code, err = _train(capsys, tmp_path)
    assert code == 2 and len(err) == 1 and shown in err[0] and key in err[0] and "synth_tiny.hdf5" in err[0], err


@fault(3, "a sequence whose fps attribute is 0")
def test_a_zero_frame_rate_is_refused(tiny_home, tmp_path, capsys):
    shutil.copytree(tiny_home / "data", tmp_path / "data")
    _edit_data(tmp_path, lambda f: f[DATA].attrs.__setitem__("fps", 0))
    code, err = _train(capsys, tmp_path)
    assert code == 2 and len(err) == 1 and "attribute fps is 0.0" in err[0] and DATA in err[0], err


@fault(3, "fit: a keypoint value or a camera flag out of range")
@pytest.mark.parametrize("keypoints, flags, shown", [
    ("nan", [], "frame 0 joint 0 is [nan, nan]"),
    ("1e300", [], "within 1e+07"),
    ("ok", ["--fps", "0"], "--fps 0"),
    ("ok", ["--image_size", "0,0"], "--image_size 0 0"),
    ("ok", ["--focal", "-1", "5"], "--focal -1 5"),
    ("ok", ["--center", "inf", "1"], "--center inf 1"),
])
def test_fit_refuses_bad_keypoints_and_camera_values(tiny_home, tmp_path, capsys, keypoints, flags, shown):
    value = 500.0 if keypoints == "ok" else float(keypoints)
    np.save(tmp_path / "kp.npy", np.full((3, 14, 2), value))
    code, err = _cli(capsys, tiny_home, "fit", str(tmp_path / "kp.npy"), "--gan_id", "synth_tiny", *flags)
    assert code == 2 and len(err) == 1 and shown in err[0], err
    assert not list(tiny_home.glob("fit-kp*"))


@fault(3, "make-data with a value out of range")
@pytest.mark.parametrize("flag, value", [("--pixel_noise", "-1"), ("--pixel_noise", "nan"), ("--seed", "-1")])
def test_make_data_refuses_bad_values(tmp_path, capsys, flag, value):
    code, err = _cli(capsys, tmp_path, "make-data", "synth_tiny", flag, value)
    assert code == 2 and len(err) == 1 and f"{flag} {value}" in err[0].replace(".0:", ":"), err
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


# --- class 4: one line instead of a traceback -------------------------------------------------------------------

CKPT_FILES = {"data": "ckpt-3000.data-00000-of-00001", "index": "ckpt-3000.index", "state file": "checkpoint"}
DAMAGES = {  # damage: (what is done to which file, the file the error line names)
    "data bit-flip": (flip_bytes, "data", "ckpt-3000"), "data truncated": (truncate, "data", "ckpt-3000"),
    "index bit-flip": (flip_bytes, "index", "ckpt-3000"), "index truncated": (truncate, "index", "ckpt-3000"),
    "data shard missing": (os.remove, "data", "ckpt-3000.data"), "index missing": (os.remove, "index", "ckpt-3000"),
    "state file bit-flip": (lambda p: flip_bytes(p, count=20), "state file", "checkpoint"),
    "state file truncated": (lambda p: truncate(p, 0.3), "state file", "checkpoint"),
    "state file a folder": (lambda p: (os.remove(p), os.mkdir(p)), "state file", "checkpoint"),
}


def _damage(run, damage):
    """Damage one file of the GAN run's checkpoint ckpt-3000; returns the name the error line must give."""
    act, which, named = DAMAGES[damage]
    act(run / CKPT_FILES[which])
    return named


READERS = {"resume": ["train", "synth_tiny", "--resume", "--max_steps", "6000"],
           "gan_generator_vis": ["gan_generator_vis", "synth_tiny"],
           "infer": ["infer", "synth_tiny", "--max_sequences", "1", "--maxiter", "3", "--fast_iters", "1,0,0,0"]}


@fault(4, "a damaged or incomplete TensorFlow checkpoint of a GAN")
@pytest.mark.parametrize("command", ["resume", "gan_generator_vis"])
@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_checkpoint_is_one_line(tiny_home, tmp_path, capsys, damage, command):
    run = _copy_gan(tiny_home, tmp_path)
    named = _damage(run, damage)
    before = sorted(p.name for p in run.iterdir() if p.name != "run.json")
    code, err = _cli(capsys, tmp_path, *READERS[command])
    assert code == 2 and len(err) == 1 and f"{run}/{named}" in err[0], err
    assert "no checkpoint" not in err[0] and "ckpt-6000" not in " ".join(p.name for p in run.iterdir())
    assert sorted(p.name for p in run.iterdir() if p.name != "run.json") == before  # nothing new was trained


@fault(4, "a damaged checkpoint of the GAN that an inference searches")
@pytest.mark.parametrize("damage", ["data bit-flip", "data truncated", "state file truncated"])
def test_a_damaged_gan_checkpoint_stops_an_inference_in_one_line(tiny_home, tmp_path, capsys, damage):
    run = _copy_gan(tiny_home, tmp_path)
    named = _damage(run, damage)
    code, err = _cli(capsys, tmp_path, *READERS["infer"])
    assert code == 2 and len(err) == 1 and f"{run}/{named}" in err[0], err
    assert not (tmp_path / "infer-synth_tiny" / "results.hdf5").exists()


@fault(4, "a foreign TensorFlow checkpoint, one that does not match its config.yaml, one holding NaN weights")
@pytest.mark.parametrize("kind, shown", [("foreign", "cannot load the GAN"),
                                         ("width changed in config.yaml", "cannot load the GAN"),
                                         ("NaN weights, intact file", "holds non-finite values")])
def test_a_checkpoint_of_another_model_is_one_line(tiny_home, tmp_path, capsys, kind, shown):
    run = _copy_gan(tiny_home, tmp_path)
    if kind == "width changed in config.yaml":
        (run / "config.yaml").write_text((run / "config.yaml").read_text().replace("n_g:\n- 32", "n_g:\n- 16"))
    else:
        _, G, C, step = load_gan(run)
        G.weights[0].assign(tf.fill(G.weights[0].shape, np.nan))
        for p in [*run.glob("ckpt-*"), run / "checkpoint"]:
            p.unlink()
        ckpt = (tf.train.Checkpoint(other=tf.Variable(1.0)) if kind == "foreign" else
                tf.train.Checkpoint(generator=G, critic=C, step=tf.Variable(step, dtype=tf.int64)))
        tf.train.CheckpointManager(ckpt, str(run), 2).save(3000)
    code, err = _cli(capsys, tmp_path, "gan_generator_vis", "synth_tiny")
    assert code == 2 and len(err) == 1 and f"{run}/ckpt-3000: " in err[0] and shown in err[0], err


def _zero_pose(f):
    """Frame 4 of S1/Walking 1: every joint at the origin."""
    a = f[f"{DATA}/p3"][()]
    a[4] = 0
    del f[f"{DATA}/p3"]
    f.create_dataset(f"{DATA}/p3", data=a)


@fault(4, "a data file that is not the HDF5 layout, or holds a degenerate pose")
@pytest.mark.parametrize("damage, shown", [
    ("text", "not a readable hdf5 file"), ("folder", "not a readable hdf5 file"),
    ("truncated", "not a readable hdf5 file"), ("no subjects", "no 'subjects' group"),
    ("no p3", f"missing dataset {DATA}/p3"), ("no views", f"{DATA} has no views"),
    ("no p2", f"missing dataset {DATA}/views/55011271/p2"), ("strings for p3", f"{DATA}/p3 has shape"),
    ("an all-zero pose", "frame 4: every joint at one point"),
])
def test_a_malformed_data_file_is_one_line(tiny_home, tmp_path, capsys, damage, shown):
    shutil.copytree(tiny_home / "data", tmp_path / "data")
    path = tmp_path / "data" / "synth_tiny.hdf5"
    if damage in ("text", "folder"):
        path.unlink()
        path.mkdir() if damage == "folder" else path.write_text("not hdf5\n")
    elif damage == "truncated":
        truncate(path)
    else:
        edits = {"no subjects": lambda f: f.__delitem__("subjects"),
                 "no p3": lambda f: f.__delitem__(f"{DATA}/p3"),
                 "no views": lambda f: f.__delitem__(f"{DATA}/views"),
                 "no p2": lambda f: f.__delitem__(f"{DATA}/views/55011271/p2"),
                 "strings for p3": lambda f: (f.__delitem__(f"{DATA}/p3"),
                                              f.create_dataset(f"{DATA}/p3", data=np.array([b"x"] * 5))),
                 "an all-zero pose": _zero_pose}
        _edit_data(tmp_path, edits[damage])
    code, err = _train(capsys, tmp_path)
    assert code == 2 and len(err) == 1 and "synth_tiny.hdf5" in err[0] and shown in err[0], err


def _damage_results(path, damage):
    if damage in ("text", "folder"):
        path.unlink()
        path.mkdir() if damage == "folder" else path.write_text("not hdf5\n")
    elif damage == "truncated":
        truncate(path)
    else:
        with h5py.File(path, "a") as f:
            seq = next(iter(f["synth_tiny"].values()))
            if damage == "no p3w":
                del seq["p3w"]
            else:
                seq["p3w"][0, 0, 0] = np.nan


@fault(4, "a damaged results.hdf5 read by report, vis or a resumed infer")
@pytest.mark.parametrize("command", ["report", "vis", "infer --resume"])
@pytest.mark.parametrize("damage, shown", [("truncated", "not a readable results file"),
                                           ("text", "not a readable results file"),
                                           ("folder", "not a readable results file"),
                                           ("no p3w", "has no p3w data set"), ("NaN p3w", "p3w is not finite")])
def test_a_damaged_results_file_is_one_line(infer_home, tmp_path, capsys, command, damage, shown):
    shutil.copytree(infer_home, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "infer-synth_tiny" / "results.hdf5"
    _damage_results(path, damage)
    argv = command.split()[:1] + ["synth_tiny"] + (["--resume", *SMALL_INFER[2:]] if "resume" in command else [])
    code, err = _cli(capsys, tmp_path, *argv)
    assert code == 2 and len(err) == 1 and f"{path}: " in err[0] and shown in err[0], err
    assert not list((tmp_path / "infer-synth_tiny").glob("vis/*.gif"))


@fault(4, "make-data --out names a folder, or a path under a file")
@pytest.mark.parametrize("where", ["folder", "under a file"])
def test_make_data_to_a_folder_is_one_line(tmp_path, capsys, where):
    (tmp_path / "x.hdf5").mkdir() if where == "folder" else (tmp_path / "file").write_text("a file\n")
    out = tmp_path / ("x.hdf5" if where == "folder" else "file/x.hdf5")
    code, err = _cli(capsys, tmp_path, "make-data", "synth_tiny", "--out", str(out))
    named = out if where == "folder" else tmp_path / "file"
    assert code == 2 and len(err) == 1 and f"{named}: " in err[0], err


@fault(4, "--data_root names a file")
def test_a_file_as_the_data_root_is_one_line(tmp_path, capsys):
    (tmp_path / "root").write_text("a file\n")
    code, err = _train(capsys, tmp_path / "home", "--data_root", str(tmp_path / "root"))
    assert code == 2 and len(err) == 1 and "the data root is a file" in err[0], err


@fault(4, "a config or keypoint file that is not what it should be")
@pytest.mark.parametrize("case", ["non-UTF-8 config", "folder for a config", "folder for keypoints",
                                  "text for keypoints", "empty keypoints", "non-UTF-8 saved config on resume"])
def test_bad_files_where_configs_and_keypoints_belong(tiny_home, tmp_path, capsys, case):
    target = tmp_path / ("gan.yaml" if "config" in case else "kp.npy")
    if case == "non-UTF-8 config":
        write_non_utf8(target, "n_z: 8\n")
    elif case.startswith("folder"):
        target.mkdir()
    elif case == "text for keypoints":
        target.write_text("1 2 3\n")
    elif case == "empty keypoints":
        np.save(target, np.zeros((0, 14, 2)))
    if case == "non-UTF-8 saved config on resume":
        run = _copy_gan(tiny_home, tmp_path)
        target = run / "config.yaml"
        write_non_utf8(target, target.read_text())
        code, err = _cli(capsys, tmp_path, "train", "synth_tiny", "--resume", "--max_steps", "6000")
    elif "config" in case:
        code, err = _cli(capsys, tmp_path, "train", str(target))
    else:
        code, err = _cli(capsys, tiny_home, "fit", str(target), "--gan_id", "synth_tiny")
    assert code == 2 and len(err) == 1 and str(target) in err[0], err


@fault(4, "--device cuda without a GPU, and a bogus device string")
@pytest.mark.parametrize("device, shown", [("cuda", "sees no GPU"), ("cuda:1", "sees no GPU"),
                                           ("banana", "expected cpu, cuda"), ("cuda:x", "expected cpu, cuda")])
def test_a_bad_device_is_one_line_that_does_not_blame_the_checkpoint(tiny_home, tmp_path, capsys, device, shown):
    if tf.config.list_physical_devices("GPU") and device.startswith("cuda"):
        pytest.skip("this machine has a GPU")
    _copy_gan(tiny_home, tmp_path)
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny", "--resume", "--max_steps", "6000", "--device", device)
    assert code == 2 and len(err) == 1 and f"--device {device}" in err[0].replace("'", "") and shown in err[0], err
    assert "checkpoint" not in err[0]


@fault(4, "the disk fills while a resumed GAN writes its next checkpoint (file size limit, subprocess)")
def test_a_full_disk_is_one_line_and_keeps_the_earlier_checkpoint(tiny_home, tmp_path):
    run = _copy_gan(tiny_home, tmp_path)
    result = run_subprocess("apo_tf.main", ["--home", tmp_path, "train", "synth_tiny", "--resume", "--max_steps",
                                            "3600"], preexec_fn=limit_file_size(20_000))
    line = assert_one_line_error(result, "cannot write the checkpoint of global step 3600", "File too large")
    assert "the earlier checkpoint ckpt-3000 is intact" in line
    assert load_gan(run)[3] == 3000 and np.isfinite(_weights(run)).all()
    assert not [p for p in run.iterdir() if "_temp" in p.name or ".tmp" in p.name]


@fault(4, "the disk fills while an inference adds a sequence to results.hdf5 (subprocess)")
def test_a_full_disk_during_inference_keeps_the_earlier_results(infer_home, tmp_path):
    shutil.copytree(infer_home, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "infer-synth_tiny" / "results.hdf5"
    before = path.read_bytes()
    argv = ["--home", tmp_path, "infer", "synth_tiny", "--resume", "--max_sequences", "2"]
    result = run_subprocess("apo_tf.main", argv, preexec_fn=limit_file_size(len(before) + 2_000))
    assert_one_line_error(result, f"{path}: cannot write it", "File too large", "the previous file is unchanged")
    assert path.read_bytes() == before and not list(path.parent.glob("*.tmp"))


# --- class 6: two runs, one folder or cache ---------------------------------------------------------------------

@fault(6, "report on an inference run that another process holds")
def test_report_waits_for_a_run_in_use(infer_home, tmp_path, capsys):
    from apo_tf.runs import locked

    shutil.copytree(infer_home, tmp_path, dirs_exist_ok=True)
    with locked(tmp_path / "infer-synth_tiny"):
        code, err = _cli(capsys, tmp_path, "report", "synth_tiny")
    assert code == 2 and len(err) == 1 and "in use by another process" in err[0], err


@fault(6, "two processes generate the same synthetic data set at once")
def test_two_processes_writing_the_generated_data_never_mix(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "data" / "synth_tiny.hdf5"
    args = [sys.executable, "-m", "apo_tf.main", "make-data", "synth_tiny", "--out", str(out)]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    from apo_tf.data import h3m, synthetic

    size = synthetic.SIZES["synth_tiny"]
    n = len(size.train_subjects) * len(size.actions) + len(size.eval_subjects) * len(size.eval_actions)
    assert len(h3m.read_sequences(out)) == n and [p.name for p in out.parent.iterdir()] == [out.name]


@fault(6, "generated data damaged on disk: one line naming it and saying it is regenerated once deleted")
def test_a_damaged_generated_data_set_says_how_to_recover(tiny_home, tmp_path, capsys):
    shutil.copytree(tiny_home / "data", tmp_path / "data")
    truncate(tmp_path / "data" / "synth_tiny.hdf5")
    code, err = _train(capsys, tmp_path)
    assert code == 2 and len(err) == 1 and "synth_tiny.hdf5" in err[0] and "delete it" in err[0], err
    (tmp_path / "data" / "synth_tiny.hdf5").unlink()
    assert _train(capsys, tmp_path)[0] == 0


@fault(6, "the disk fills while a data set is generated (subprocess); a killed writer's temporary file is there")
def test_a_failed_generation_leaves_neither_data_nor_temporary_files(tmp_path):
    (tmp_path / ".synth_tiny.hdf5.999999999.tmp").write_bytes(b"left by a killed process")
    result = run_subprocess("apo_tf.main", ["make-data", "synth_tiny", "--out", tmp_path / "synth_tiny.hdf5"],
                            preexec_fn=limit_file_size(200_000))
    assert_one_line_error(result, f"{tmp_path / 'synth_tiny.hdf5'}: cannot write it", "nothing was written")
    assert not list(tmp_path.iterdir())


# --- class 7: no misleading lines, no leftovers -----------------------------------------------------------------

@fault(7, "batch_size 0 is named, not reported as a non-finite critic loss")
def test_a_zero_batch_is_not_called_a_non_finite_loss(tmp_path, capsys):
    code, err = _train(capsys, tmp_path, "--batch_size", "0")
    assert code == 2 and len(err) == 1 and "batch_size 0: must be > 0" in err[0] and "non-finite" not in err[0], err


@fault(7, "--resume naming a run of the other command: said so, not 'unknown key'")
@pytest.mark.parametrize("command, run", [("train", "infer-synth_tiny"), ("infer", "gan-synth_tiny")])
def test_resuming_a_run_of_another_command_says_so(infer_home, tmp_path, capsys, command, run):
    shutil.copytree(infer_home, tmp_path, dirs_exist_ok=True)
    code, err = _cli(capsys, tmp_path, command, "synth_tiny", "--resume", run)
    made_by = "train" if run.startswith("gan") else "infer"
    assert code == 2 and len(err) == 1 and f"{run}: a run of `{made_by}`, not of `{command}`" in err[0], err


@fault(7, "what a checkpoint write killed half-way leaves (TF _temp folder, checkpoint.tmp) is cleaned on resume")
@pytest.mark.parametrize("leftover", ["ckpt-3600_temp", "checkpoint.tmp5f3a9c"])
def test_a_killed_checkpoint_write_leaves_nothing_after_the_next_run(tiny_home, tmp_path, capsys, leftover):
    run = _copy_gan(tiny_home, tmp_path)
    if leftover.endswith("_temp"):
        (run / leftover).mkdir()
        (run / leftover / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 100)
    else:
        (run / leftover).write_text('model_checkpoint_path: "ckpt-36')
    assert _cli(capsys, tmp_path, "train", "synth_tiny", "--resume", "--max_steps", "3600")[0] == 0
    assert not (run / leftover).exists() and load_gan(run)[3] == 3600


@fault(7, "a metrics.jsonl line torn by a kill, and the lines after the checkpoint: each step once after resume")
def test_metrics_lines_are_not_repeated_after_a_kill_and_resume(tiny_home, tmp_path, capsys):
    run = _copy_gan(tiny_home, tmp_path)
    for p in run.glob("ckpt-3000*"):  # killed after logging step 3000, before its checkpoint was written
        p.unlink()
    (run / "checkpoint").write_text('model_checkpoint_path: "ckpt-2400"\nall_model_checkpoint_paths: "ckpt-2400"\n')
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 36')  # and torn while writing a line
    assert _cli(capsys, tmp_path, "train", "synth_tiny", "--resume")[0] == 0
    steps = [json.loads(ln)["step"] for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [600, 1200, 1800, 2400, 3000]


# --- the adversarial sweep after issue 20: inputs the cases above did not try ----------------------------------

@fault(3, "a config value float32 cannot hold, or a size or step count past what fits (flag)")
@pytest.mark.parametrize("command, flag, value, shown", [
    ("train", "--lr", "1e-45", "outside float32's range"), ("train", "--clip", "1e300", "outside float32's range"),
    ("train", "--gp_lambda", "1e300", "outside float32's range"),
    ("infer", "--critic_weight", "1e300", "outside float32's range"),
    ("infer", "--scale_init", "1e300", "outside float32's range"),
    ("train", "--n_g", "99999999999", "a hidden size above 65536"), ("train", "--n_z", "1000000", "must be <= 65536"),
    ("train", "--batch_size", "100000000", "must be <= 1048576"),
    ("train", "--max_steps", "99999999999999999999999", "must be <= 4611686018427387904"),
    ("train", "--gan_id", "../evil", "must be a plain name"),
    ("infer", "--inference_id", "a/b", "must be a plain name"),
])
def test_values_past_what_the_model_can_hold_are_refused(tmp_path, capsys, command, flag, value, shown):
    code, err = _cli(capsys, tmp_path, command, "synth_tiny", flag, value)
    assert code == 2 and len(err) == 1 and f"option {flag}: {flag[2:]}" in err[0] and shown in err[0], err
    assert not list(tmp_path.iterdir())


@fault(4, "TensorFlow out of memory (a model too wide for the machine) is one line naming the sizes")
def test_out_of_memory_is_one_line(tmp_path, capsys, monkeypatch):
    import apo_tf.train

    def oom(*a, **k):
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[8,99999]")

    monkeypatch.setattr(apo_tf.train, "train", oom)
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny")
    assert code == 2 and len(err) == 1 and "out of memory" in err[0] and "n_g, n_c or batch_size" in err[0], err


@fault(4, "fit: a keypoint file that is an .npz archive, an empty file, or one frame with every joint at one point")
@pytest.mark.parametrize("case, shown", [("npz", "an .npz archive"), ("empty", "not a .npy array"),
                                         ("one point", "frame 1: every joint within one pixel")])
def test_fit_refuses_unusable_keypoint_files(tiny_home, tmp_path, capsys, case, shown):
    path = tmp_path / "kp.npy"
    if case == "npz":
        with open(path, "wb") as f:
            np.savez(f, a=np.zeros((3, 14, 2)))
    elif case == "empty":
        path.write_bytes(b"")
    else:
        kp = np.random.default_rng(0).uniform(400, 600, (3, 14, 2))
        kp[1] = 500.0
        np.save(path, kp)
    code, err = _cli(capsys, tiny_home, "fit", str(path), "--gan_id", "synth_tiny")
    assert code == 2 and len(err) == 1 and str(path) in err[0] and shown in err[0], err
    assert not list(tiny_home.glob("fit-kp*"))


@fault(3, "fit: a camera or frame rate past what float32 holds (not blamed on the 2-D input)")
@pytest.mark.parametrize("flags, shown", [(["--image_size", "1e300,1e300"], "--image_size 1e+300 1e+300"),
                                          (["--focal", "1e-300", "1e-300"], "--focal 1e-300 1e-300"),
                                          (["--center", "1e300", "0"], "--center 1e+300 0"),
                                          (["--fps", "1e300"], "--fps 1e+300")])
def test_fit_refuses_camera_values_out_of_range(tiny_home, tmp_path, capsys, flags, shown):
    np.save(tmp_path / "kp.npy", np.random.default_rng(0).uniform(400, 600, (3, 14, 2)))
    code, err = _cli(capsys, tiny_home, "fit", str(tmp_path / "kp.npy"), "--gan_id", "synth_tiny", *flags)
    assert code == 2 and len(err) == 1 and shown in err[0] and "non-finite" not in err[0], err


@fault(3, "make-data --pixel_noise past float32")
def test_make_data_refuses_a_huge_noise(tmp_path, capsys):
    code, err = _cli(capsys, tmp_path, "make-data", "synth_tiny", "--pixel_noise", "1e300")
    assert code == 2 and len(err) == 1 and "--pixel_noise 1e+300" in err[0], err
    assert not tmp_path.exists() or not list(tmp_path.iterdir())


@fault(4, "vis --out naming a folder or a file that is not a .gif")
@pytest.mark.parametrize("out", [".", "x.txt"])
def test_vis_out_must_be_a_gif(infer_home, capsys, out):
    path = infer_home / out
    code, err = _cli(capsys, infer_home, "vis", "synth_tiny", "--out", str(path))
    assert code == 2 and len(err) == 1 and f"--out {path}" in err[0] and ".gif" in err[0], err


@fault(7, "--resume of a run with an empty config.yaml, or of another package's run: said so, not 'unknown key'")
@pytest.mark.parametrize("case, shown", [("empty config.yaml", "empty, so the settings of the saved weights"),
                                         ("another package", "not a run of apo_tf")])
def test_resume_of_a_run_with_no_usable_record_says_so(tiny_home, tmp_path, capsys, case, shown):
    run = _copy_gan(tiny_home, tmp_path)
    if case == "empty config.yaml":
        (run / "config.yaml").write_text("")
        argv = ["--resume"]
    else:
        other = tmp_path / "other"
        other.mkdir()
        (other / "run.json").write_text('{"status": "finished"}')
        (other / "config.yaml").write_text("hidden: 16\nepochs: 3\n")
        argv = ["--resume", str(other)]
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny", *argv, "--max_steps", "3600")
    assert code == 2 and len(err) == 1 and shown in err[0], err
    assert load_gan(run)[3] == 3000 if case == "another package" else "ckpt-3600.index" not in os.listdir(run)


@fault(4, "--resume of a run whose tb/ is a file")
def test_a_file_where_the_tensorboard_folder_belongs_is_one_line(tiny_home, tmp_path, capsys):
    run = _copy_gan(tiny_home, tmp_path)
    shutil.rmtree(run / "tb")
    (run / "tb").write_text("not a folder\n")
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny", "--resume", "--max_steps", "3600")
    assert code == 2 and len(err) == 1 and f"{run / 'tb'}: a file where the TensorBoard folder" in err[0], err
    assert load_gan(run)[3] == 3000


@fault(4, "jit_compile with sampling shuffle (XLA cannot compile the tf.data iterator): refused, not an internal error")
@pytest.mark.parametrize("where", ["flags", "yaml"])
def test_jit_compile_with_the_shuffle_pipeline_is_refused(tmp_path, capsys, where):
    if where == "flags":
        argv = ["synth_tiny", "--jit_compile", "true", "--sampling", "shuffle"]
    else:
        (tmp_path / "gan.yaml").write_text("dataset: synth_tiny_consistent_scaled_c1\njit_compile: yes\n")
        argv = [str(tmp_path / "gan.yaml")]
    code, err = _cli(capsys, tmp_path / "home", "train", *argv)
    assert code == 2 and len(err) == 1 and "jit_compile true: needs sampling uniform" in err[0], err
    assert where == "flags" or "gan.yaml" in err[0]
    assert not (tmp_path / "home").exists()


def _replace_with_dataset(key):
    def edit(f):
        del f[key]
        f.create_dataset(key, data=np.zeros(3))
    return edit


@fault(4, "a data file whose attributes or groups have the wrong type (fps a string or an array, a group a data set)")
@pytest.mark.parametrize("edit, shown", [
    (lambda f: f[DATA].attrs.__setitem__("fps", "abc"), "attribute fps is 'abc'"),
    (lambda f: f[DATA].attrs.__setitem__("fps", np.array([1.0, 2.0])), "attribute fps is array"),
    (lambda f: f.attrs.__setitem__("n_joints", "x"), "attribute n_joints is 'x'"),
    (_replace_with_dataset("subjects"), "no 'subjects' group"),
    (_replace_with_dataset("subjects/S1/sequences"), "subjects/S1 has no 'sequences' group"),
    (_replace_with_dataset(f"{DATA}/views"), f"{DATA}/views is not a group of cameras"),
], ids=["fps string", "fps array", "n_joints string", "subjects a data set", "sequences a data set",
        "views a data set"])
def test_a_data_file_with_mistyped_parts_is_one_line(tiny_home, tmp_path, capsys, edit, shown):
    shutil.copytree(tiny_home / "data", tmp_path / "data")
    _edit_data(tmp_path, edit)
    code, err = _train(capsys, tmp_path)
    assert code == 2 and len(err) == 1 and "synth_tiny.hdf5" in err[0] and shown in err[0], err


@fault(4, "a results.hdf5 whose inference group holds no sequence (report, vis), or p3w of fewer frames (vis)")
@pytest.mark.parametrize("command, damage, shown", [("report", "empty group", "holds no sequence yet"),
                                                   ("vis", "empty group", "holds no sequence yet"),
                                                   ("vis", "fewer frames", "has shape (3,")])
def test_an_empty_or_short_results_file_is_one_line(infer_home, tmp_path, capsys, command, damage, shown):
    shutil.copytree(infer_home, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "infer-synth_tiny" / "results.hdf5"
    with h5py.File(path, "a") as f:
        for key in list(f["synth_tiny"]):
            if damage == "empty group":
                del f["synth_tiny"][key]
            else:
                a = f[f"synth_tiny/{key}/p3w"][:3]
                del f[f"synth_tiny/{key}/p3w"]
                f.create_dataset(f"synth_tiny/{key}/p3w", data=a)
    code, err = _cli(capsys, tmp_path, command, "synth_tiny")
    assert code == 2 and len(err) == 1 and f"{path}: " in err[0] and shown in err[0], err
    assert not list((tmp_path / "infer-synth_tiny").glob("vis/*.gif"))


@fault(6, "a checkpoint state file naming another run's checkpoint: refused, never continued from another run")
@pytest.mark.parametrize("command", ["resume", "gan_generator_vis"])
def test_a_state_file_naming_another_runs_checkpoint_is_refused(tiny_home, tmp_path, capsys, command):
    run = _copy_gan(tiny_home, tmp_path)
    (run / "checkpoint").write_text(f'model_checkpoint_path: "{tiny_home / RUN / "ckpt-2400"}"\n')
    code, err = _cli(capsys, tmp_path, *READERS[command])
    assert code == 2 and len(err) == 1 and f"{run}/checkpoint: names" in err[0], err
    assert "outside this run folder" in err[0] and "ckpt-3000" in err[0], err
    assert not list(run.glob("ckpt-6000*"))


@fault(7, "infer with a GAN of another skeleton: the GAN run and both skeletons named, not 'no conversion'")
def test_a_gan_of_another_skeleton_is_named(tiny_home, tmp_path, capsys):
    _copy_gan(tiny_home, tmp_path)
    assert _train(capsys, tmp_path, "--dataset", "synth_tiny_s14_consistent_scaled_c1", "--run_name", "s14")[0] == 0
    code, err = _cli(capsys, tmp_path, *READERS["infer"], "--gan_run", "s14")
    assert code == 2 and len(err) == 1 and f"{tmp_path / 's14'}: a GAN of apo_s14 poses" in err[0], err
    assert "cannot fit apo_s24 data" in err[0] and "--gan_run" in err[0], err


@fault(7, "a GAN run whose config.yaml is empty or lacks an architecture key: the record named, not the checkpoint")
@pytest.mark.parametrize("command", ["infer", "gan_generator_vis"])
@pytest.mark.parametrize("record, shown", [("empty", "empty, so the shapes"), ("no n_z", "lacks n_z, so the shapes")])
def test_a_gan_record_without_its_architecture_is_named(tiny_home, tmp_path, capsys, command, record, shown):
    run = _copy_gan(tiny_home, tmp_path)
    lines = (run / "config.yaml").read_text().splitlines()
    (run / "config.yaml").write_text("" if record == "empty" else
                                     "\n".join(ln for ln in lines if not ln.startswith("n_z:")) + "\n")
    code, err = _cli(capsys, tmp_path, *READERS[command])
    assert code == 2 and len(err) == 1 and f"{run / 'config.yaml'}: {shown}" in err[0], err
    assert "checkpoint" not in err[0]


@fault(3, "--device '' (an empty device string) is refused, not taken as auto")
def test_an_empty_device_is_refused(tmp_path, capsys):
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny", "--device", "")
    assert code == 2 and len(err) == 1 and "--device '': expected cpu" in err[0], err
    assert not list(tmp_path.iterdir())


@fault(6, "vis into an inference run that another process holds (as report)")
def test_vis_waits_for_a_run_in_use(infer_home, tmp_path, capsys):
    from apo_tf.runs import locked

    shutil.copytree(infer_home, tmp_path, dirs_exist_ok=True)
    with locked(tmp_path / "infer-synth_tiny"):
        code, err = _cli(capsys, tmp_path, "vis", "synth_tiny")
    assert code == 2 and len(err) == 1 and "in use by another process" in err[0], err
    assert not list((tmp_path / "infer-synth_tiny").glob("vis/*.gif"))
