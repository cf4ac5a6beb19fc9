"""Nothing lost, nothing silent (issue 20): divergence never reaches a checkpoint, resume refuses changes it
cannot apply, damaged checkpoints and data are one line, never a traceback or a silent success."""

import h5py
import numpy as np
import tensorflow as tf

from apo_tf.main import main
from apo_tf.models import load_gan
from motionkit.errors import run_cli
from motionkit.faults import assert_one_line_error, flip_bytes, limit_file_size, truncate, write_non_utf8
from motionkit.faults import run_cli as run_subprocess


def _cli(capsys, home, *argv):
    """(exit status, the error lines of stderr: everything but the progress bars) of one command."""
    capsys.readouterr()
    code = run_cli(main, ["--home", str(home), *argv])
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    return code, [ln for ln in lines if ln.strip() and not ln.startswith(("train ", "infer "))]


def _train(capsys, home, *flags):
    return _cli(capsys, home, "train", "synth_tiny", "--max_steps", "60", "--ckpt_every", "60",
                "--iters_per_call", "5", *flags)


def test_divergence_is_never_checkpointed_and_a_lower_lr_continues(tmp_path, capsys):
    assert _train(capsys, tmp_path)[0] == 0
    code, err = _train(capsys, tmp_path, "--resume", "--max_steps", "90", "--lr", "1e30")
    assert code == 2 and len(err) == 1 and "diverged by global step" in err[0] and "--lr" in err[0], err
    run = tmp_path / "gan-synth_tiny"
    assert tf.train.latest_checkpoint(str(run)).endswith("ckpt-60")  # the last good state
    assert "lr: 0.0001" in (run / "config.yaml").read_text()  # the record still matches it
    weights = np.concatenate([w.numpy().ravel() for w in load_gan(run)[1].weights])
    assert np.isfinite(weights).all() and np.abs(weights).max() < 100
    capsys.readouterr()
    assert run_cli(main, ["--home", str(tmp_path), "train", "synth_tiny", "--max_steps", "120", "--ckpt_every", "60",
                          "--iters_per_call", "5", "--resume", "--lr", "5e-5"]) == 0
    assert "config change on resume: lr: 0.0001 -> 5e-05" in capsys.readouterr().out  # applied and logged
    assert load_gan(run)[3] == 120 and "lr: 5.0e-05" in (run / "config.yaml").read_text()


def _copy_gan(tiny_home, home):
    import shutil

    shutil.copytree(tiny_home / "gan-synth_tiny", home / "gan-synth_tiny")
    shutil.copytree(tiny_home / "data", home / "data")
    return home / "gan-synth_tiny"


def test_resume_refuses_a_change_it_cannot_apply(tiny_home, tmp_path, capsys):
    run = _copy_gan(tiny_home, tmp_path)
    saved = (run / "config.yaml").read_text()
    code, err = _cli(capsys, tmp_path, "train", "synth_tiny", "--resume", "--max_steps", "6000", "--n_g", "16")
    assert code == 2 and len(err) == 1 and "n_g [32] -> [16]" in err[0] and "drop --resume" in err[0], err
    assert (run / "config.yaml").read_text() == saved and "ckpt-3000.index" in {p.name for p in run.iterdir()}


def test_a_damaged_checkpoint_is_one_line(tiny_home, tmp_path, capsys):
    """A bit-flipped and a truncated checkpoint: resuming and loading each end in one line naming it."""
    for damage in ("bit-flip", "truncate"):
        home = tmp_path / damage
        data = next(_copy_gan(tiny_home, home).glob("ckpt-3000.data-*"))
        flip_bytes(data) if damage == "bit-flip" else truncate(data)
        code, err = _cli(capsys, home, "train", "synth_tiny", "--resume", "--max_steps", "6000")
        assert code == 2 and len(err) == 1 and "ckpt-3000" in err[0], (damage, err)
        code, err = _cli(capsys, home, "gan_generator_vis", "synth_tiny")
        assert code == 2 and len(err) == 1 and "ckpt-3000" in err[0], (damage, err)


def test_non_finite_observations_are_one_line(tmp_path, capsys):
    from apo_tf.data import synthetic

    path = synthetic.write(tmp_path / "data" / "synth_tiny.hdf5", "synth_tiny")
    with h5py.File(path, "a") as f:
        p2 = f["subjects/S1/sequences/Walking 1/views/55011271/p2"]
        bad = p2[()]
        bad[7, 3, 0] = np.inf
        p2[...] = bad
    code, err = _train(capsys, tmp_path)
    assert code == 2 and len(err) == 1 and "frame 7 holds inf" in err[0] and "Walking 1" in err[0], err


def test_bad_files_where_configs_and_keypoints_belong(tiny_home, tmp_path, capsys):
    bad = tmp_path / "gan.yaml"
    write_non_utf8(bad, "n_z: 8\n")
    code, err = _cli(capsys, tmp_path, "train", str(bad))
    assert code == 2 and len(err) == 1 and "gan.yaml" in err[0], err
    (tmp_path / "kp.npy").mkdir()  # a folder where the keypoint file belongs
    code, err = _cli(capsys, tiny_home, "fit", str(tmp_path / "kp.npy"), "--gan_id", "synth_tiny")
    assert code == 2 and len(err) == 1 and "kp.npy" in err[0], err
    np.save(tmp_path / "kp2.npy", np.full((3, 14, 2), np.nan))
    code, err = _cli(capsys, tiny_home, "fit", str(tmp_path / "kp2.npy"), "--gan_id", "synth_tiny")
    assert code == 2 and len(err) == 1 and "finite" in err[0], err


def test_a_full_disk_is_one_line(tiny_home, tmp_path):
    """A disk that fills while training writes its first checkpoint (file size limit in a subprocess)."""
    import shutil

    shutil.copytree(tiny_home / "data", tmp_path / "data")
    result = run_subprocess("apo_tf.main", ["--home", tmp_path, "train", "synth_tiny", "--max_steps", "60",
                                            "--ckpt_every", "60", "--iters_per_call", "5"],
                            preexec_fn=limit_file_size(20_000))
    line = assert_one_line_error(result, "cannot write the checkpoint of global step 60", "File too large")
    assert "earlier checkpoints are intact" in line
