"""Inference recovers generator-made poses; results.hdf5 layout and round trip; golden report errors."""

import json

import h5py
import numpy as np
import pytest
import tensorflow as tf

from apo_tf.config import load_inference_config
from apo_tf.data import registry
from apo_tf.data.cameras import Camera
from apo_tf.data.synthetic import make_cameras
from apo_tf.evaluate import report
from apo_tf.infer import Objective, infer_sequence, run_inference
from apo_tf.models import load_gan


@pytest.mark.parametrize("solver", ["fast", "lbfgsb"])
def test_inference_recovers_a_pose_the_generator_can_make(tiny_home, solver):
    _, G, C, step = load_gan(tiny_home / "gan-synth_tiny")
    assert step == 3000
    cfg = load_inference_config("synth_tiny", {"tol": 1e-12, "maxiter": 3000, "solver": solver, "dtype": "float64",
                                                   "fast_iters": [2000, 8, 300, 2000]})
    obj = Objective(G, C, "apo_s24", "apo_s24", cfg, tf.float64)
    rng = np.random.default_rng(0)
    T = 6
    z = rng.normal(size=(T, G.n_z))
    truth = [tf.constant(a, tf.float64) for a in (0.5 * z, 1.72, rng.uniform(-.5, .5, T), rng.normal(0, .3, T),
                                                   rng.normal(0, .3, T))]
    cam = make_cameras()["55011271"].scaled()
    _, p3w, p2 = obj.forward(*truth, *(tf.constant(a, tf.float64) for a in (cam.R, cam.t, cam.f, cam.c)))
    seq = registry.Sequence("k", "S9", "x", "Walk", "55011271", 10.0, p3w.numpy(), p2.numpy(),
                            Camera(cam.R, cam.t, cam.f, cam.c), "apo_s24")
    start = obj.frames_value_and_grad(tf.zeros([T, G.n_z + 3], tf.float64), tf.constant(1.65, tf.float64),
                                      tf.ones([T], tf.float64),
                                      tf.constant(seq.p2, tf.float64),
                                      *(tf.constant(a, tf.float64) for a in (cam.R, cam.t, cam.f, cam.c)))[0]
    res = infer_sequence(obj, seq, solver)
    initial = float(np.sum(start))
    assert initial > 1e-2
    assert res["consistency"] < 1e-7 * initial, (initial, res["consistency"])  # reprojection error -> ~0
    assert res["p3w"].shape == (T, 24, 3)


def test_results_file_round_trip_skip_and_overwrite(tiny_home, golden):
    cfg = load_inference_config("synth_tiny")
    first = run_inference(cfg, tiny_home, run_name="infer-round-trip", verbose=False)
    assert first["sequences"] == 2 and first["skipped"] == 0
    results = first["results"]
    with h5py.File(results, "r") as f:
        grp = f["synth_tiny"]
        assert grp.attrs["gan_id"] == "synth_tiny" and grp.attrs["consistency_weight"] == 1.0
        keys = sorted(grp)
        assert keys == ["subjects__S9__sequences__Phoning 1__views__55011271",
                        "subjects__S9__sequences__Walking 1__views__55011271"]
        p3w = grp[keys[0]]["p3w"][()]
        assert p3w.shape == (20, 24, 3) and p3w.dtype == np.float32
        assert {"inference_time", "inference_fps"} <= set(grp[keys[0]].attrs)
    again = run_inference(cfg, tiny_home, run_name="infer-round-trip", resume="", verbose=False)
    assert again["sequences"] == 0 and again["skipped"] == 2 and again["results"] == results
    table = report(cfg, tiny_home, run="infer-round-trip", verbose=False)
    with h5py.File(results, "r") as f:
        e = f["synth_tiny"][keys[0]]["proc_error"][()]
        assert e.shape == (20, 24) and f["synth_tiny"][keys[0]]["sequence_proc_error"].shape == (20, 24)
        np.testing.assert_array_equal(f["synth_tiny"][keys[0]]["p3w"][()], p3w)
    assert set(table) == {"Phone", "Walk", "Total (frames)", "Total (categories)"}
    golden.check("report_synth_tiny", {m: table["Total (frames)"][m] for m in table["Walk"]}, rtol=2e-2, atol=1e-3)
    redo = run_inference(cfg, tiny_home, run_name="infer-round-trip", resume="", overwrite=True, verbose=False)
    assert redo["sequences"] == 2


def test_s24_gan_on_s14_data(tiny_home, tmp_path):
    """The h3m_big_inf-s14 setting: an s24 GAN's output gathered to the 14-joint skeleton of the data."""
    cfg_path = tmp_path / "tiny_inf-s14.yaml"
    cfg_path.write_text("dataset: synth_tiny_s14_scaled_c1_10fps\ngan_id: synth_tiny\ntol: 1.0e-6\nmaxiter: 100\n"
                        "max_sequences: 1\n")
    cfg = load_inference_config(str(cfg_path))
    assert cfg.inference_id == "tiny_inf-s14"
    summary = run_inference(cfg, tiny_home, verbose=False)
    assert summary["sequences"] == 1
    table = report(cfg, tiny_home, verbose=False)
    assert np.isfinite(table["Total (frames)"]["pa_mpjpe"])
    with h5py.File(summary["results"], "r") as f:
        assert next(iter(f["tiny_inf-s14"].values()))["p3w"].shape == (20, 14, 3)


@pytest.mark.fault(7, "inference killed while writing a sequence: results intact, a .tmp removed by the resume")
def test_interrupted_inference_leaves_results_intact_and_resumes(tiny_home, tmp_path, monkeypatch):
    """A run killed while writing a sequence must not corrupt results.hdf5; the next run completes it."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(tiny_home / "gan-synth_tiny", home / "gan-synth_tiny")
    shutil.copytree(tiny_home / "data", home / "data")
    cfg = load_inference_config("synth_tiny")
    original = h5py.Group.create_dataset
    calls = {"n": 0}

    def dies_on_second_write(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process is stopped half-way through writing sequence 2
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", dies_on_second_write)
    with pytest.raises(KeyboardInterrupt):
        run_inference(cfg, home, verbose=False)
    monkeypatch.setattr(h5py.Group, "create_dataset", original)
    assert json.loads((home / "infer-synth_tiny/run.json").read_text())["status"] == "failed"
    with h5py.File(home / "infer-synth_tiny/results.hdf5", "r") as f:
        assert len(f["synth_tiny"]) == 1  # the first sequence survived, the torn write never replaced the file
    leftover = home / "infer-synth_tiny/.results.hdf5.999999999.tmp"  # what a kill -9 mid-write would leave
    leftover.write_bytes(b"half a file")
    resumed = run_inference(cfg, home, resume="", verbose=False)
    assert resumed["sequences"] == 1 and resumed["skipped"] == 1
    assert sorted(p.name for p in leftover.parent.iterdir()) == [".lock", "config.yaml", "results.hdf5", "run.json"]


def test_fit_recovers_poses_projected_from_known_3d(tiny_home, tmp_path):
    """Keypoints projected (pixels, default camera) from poses the GAN can make are fitted back: PA-MPJPE
    below 1 mm (the test's bound) with the joint L-BFGS-B solver in float64."""
    from apo_tf.evaluate import per_joint_errors
    from apo_tf.fit import default_camera, fit_keypoints

    _, G, C, _ = load_gan(tiny_home / "gan-synth_tiny")
    cfg = load_inference_config("synth_tiny", {"solver": "lbfgsb", "dtype": "float64", "tol": 1e-12,
                                               "maxiter": 3000, "inference_id": "fit"})
    obj = Objective(G, C, "apo_s24", "apo_s24", cfg, tf.float64)
    rng = np.random.default_rng(1)
    T = 5
    cam = default_camera((1280, 720))
    truth = [tf.constant(a, tf.float64) for a in (0.5 * rng.normal(size=(T, G.n_z)), 1.7, rng.uniform(-1, 1, T),
                                                   rng.normal(0, .3, T), rng.normal(0, .3, T))]
    _, p3w, p2 = obj.forward(*truth, *(tf.constant(a, tf.float64) for a in (cam.R, cam.t, cam.f, cam.c)))
    np.save(tmp_path / "kp.npy", p2.numpy() * 1000.0)  # pixels
    res = fit_keypoints(cfg, tiny_home, tmp_path / "kp.npy", image_size=(1280, 720), verbose=False)
    pa = per_joint_errors(res["p3w"], p3w.numpy())["pa_mpjpe"]
    assert pa.mean() < 1.0, pa.mean()  # mm
    assert (res["run_dir"] / "poses3d.npy").exists() and (res["run_dir"] / "fit.gif").exists()
