"""Synthetic data through the real loaders, the HumanEva reader, dataset ids, and one-line errors."""

import h5py
import numpy as np
import pytest

from apo_tf.data import eva, h3m, normalize, registry, synthetic
from apo_tf.main import main
from motionkit.errors import ConfigError, DataFormatError, run_cli
from motionkit.skeletons import get_skeleton


def test_synthetic_file_reads_back_through_the_loader(tmp_path):
    path = synthetic.write(tmp_path / "synth_tiny.hdf5", "synth_tiny", seed=0)
    raws = h3m.read_sequences(path)
    assert {r.subject for r in raws} == {"S1", "S5", "S9"}
    assert sorted(raws[0].views) == ["54138969", "55011271", "58860488", "60457274"]
    train = registry.load("synth_tiny_consistent_scaled_c1", "train", tmp_path)
    ev = registry.load("synth_tiny_consistent_scaled_c1_10fps", "eval", tmp_path)
    assert len(train) == 6 and len(ev) == 2 and ev[0].camera_id == "55011271"
    assert train[0].p3w.shape == (200, 24, 3) and ev[0].p3w.shape == (20, 24, 3) and ev[0].fps == 10.0
    seq = ev[0]
    np.testing.assert_allclose(seq.camera.project(seq.p3w.astype(np.float64)), seq.p2, atol=1e-6)  # consistent
    # a kinematic body: bone lengths constant in time (up to int32-mm storage), feet on the floor
    sk = get_skeleton("apo_s24")
    bones = sk.bone_lengths(train[0].p3w)
    rigid = [i for i, (c, _) in enumerate(sk.bones) if sk.joints[c] not in ("l_hip", "r_hip")]  # spine bends
    assert (bones[:, rigid].std(0) < 2e-3).all()
    assert abs(train[0].p3w[..., 2].min()) < 2e-3
    s14 = registry.load("synth_tiny_s14_scaled_c1_10fps", "eval", tmp_path)
    assert s14[0].p3w.shape == (20, 14, 3) and s14[0].skeleton == "apo_s14"


def test_training_normalisation():
    seqs = registry.load("synth_tiny_consistent_scaled_c1", "train", _tiny_root())
    x = normalize.training_poses(seqs)
    assert x.shape == (1200, 24, 3)
    np.testing.assert_allclose(x[:, 0, :2], 0.0, atol=1e-6)  # xy recentred on the root (thorax)
    np.testing.assert_allclose(normalize.front_angle(x, "apo_s24"), 0.0, atol=1e-5)  # hips along +x
    h = normalize.heights(x, "apo_s24")
    assert 0.9 < h.max() <= 1.0 + 1e-6  # per-subject max height is 1


_ROOT = {}


def _tiny_root():
    import tempfile

    if "d" not in _ROOT:
        _ROOT["d"] = tempfile.mkdtemp()
        synthetic.write(f"{_ROOT['d']}/synth_tiny.hdf5", "synth_tiny")
    return _ROOT["d"]


def test_dataset_ids():
    d = registry.parse_id("h3m_s14_consistent_scaled_c1_10fps")
    assert (d.source, d.s14, d.consistent, d.camera_index, d.fps10, d.skeleton) == ("h3m", True, True, 1, True,
                                                                                     "apo_s14")
    assert registry.parse_id("eva_s14_scaled_c1").skeleton == "apo_s14"
    with pytest.raises(ConfigError, match="unknown dataset id"):
        registry.parse_id("h3m_banana")
    assert h3m.category("Phoning 2") == "Phone" and h3m.category("WalkingDog") == "WalkDog"


def _write_eva(path):
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        for trial, T in (("1", 30), ("3", 12)):
            g = f.create_group(f"subjects/S1/sequences/Walking_{trial}")
            g.create_dataset("p3", data=rng.normal(0, 300, (T, 20, 3)) + [0, 0, 3000])
            for cam in ("BW1", "C1", "C2"):
                p3 = rng.normal(0, 300, (T, 20, 3)) + [0, 0, 4000]
                g.create_dataset(f"views/{cam}/p3", data=p3)
                g.create_dataset(f"views/{cam}/p2", data=p3[..., :2] / p3[..., 2:] * 1000 + 500)
            if trial == "1":
                g.attrs["train_stop"], g.attrs["eval_stop"] = 18, 28


def test_humaneva_reader_split_and_s20_conversion(tmp_path):
    _write_eva(tmp_path / "eva.hdf5")
    train = eva.read_split(tmp_path / "eva.hdf5", "train")
    ev = eva.read_split(tmp_path / "eva.hdf5", "eval")
    assert sorted(len(s.p3) for s in train) == [12, 18] and [len(s.p3) for s in ev] == [10]
    assert [len(s.p3) for s in eva.read_split(tmp_path / "eva.hdf5", "eval", faithful=True)] == [30]
    seqs = registry.load("eva_s14_scaled_c1", "eval", tmp_path, eva_split="intended")
    assert seqs[0].p3w.shape == (10, 14, 3) and seqs[0].camera_id == "C1" and seqs[0].category == "Walking"
    p = np.arange(20 * 3, dtype=float).reshape(20, 3)
    s14 = eva.raw_to_s14(p)
    i = eva.S20.index
    np.testing.assert_allclose(s14[3], 0.5 * (p[i("r_upper_arm_distal")] + p[i("r_lower_arm_proximal")]))  # r_elbow
    np.testing.assert_allclose(s14[0], p[i("head_distal")])


@pytest.mark.fault(3, "HumanEva trial-1 split bounds out of order")
@pytest.mark.parametrize("bounds", [(0, 28), (28, 18), (18, 18), (40, 50)])
def test_humaneva_split_bounds_out_of_order_are_one_line(tmp_path, bounds):
    _write_eva(tmp_path / "eva.hdf5")
    with h5py.File(tmp_path / "eva.hdf5", "a") as f:
        f["subjects/S1/sequences/Walking_1"].attrs["train_stop"], f["subjects/S1/sequences/Walking_1"].attrs[
            "eval_stop"] = bounds
    with pytest.raises(DataFormatError, match=f"eva.hdf5: S1/Walking_1 train_stop {bounds[0]}, eval_stop"):
        eva.read_split(tmp_path / "eva.hdf5", "train")


@pytest.mark.fault(4, "a data file of the wrong shape, or not HDF5 at all")
@pytest.mark.parametrize("kind", ["wrong shape", "not hdf5"])
def test_malformed_data_file_gives_one_line_error(tmp_path, capsys, kind):
    root = tmp_path / "root"
    root.mkdir()
    if kind == "wrong shape":
        with h5py.File(root / "synth_tiny.hdf5", "w") as f:
            f.create_dataset("subjects/S9/sequences/Walking 1/p3", data=np.zeros((5, 17, 3)))
        with pytest.raises(DataFormatError, match="synth_tiny.hdf5: subjects/S9/sequences/Walking 1/p3 has shape"):
            h3m.read_sequences(root / "synth_tiny.hdf5")
    else:
        (root / "synth_tiny.hdf5").write_bytes(b"not hdf5 at all")
    code = run_cli(main, ["--home", str(tmp_path / "home"), "train", "synth_tiny", "--data_root", str(root)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and "synth_tiny.hdf5" in err[0], err


def test_humaneva_split_switch_changes_the_eval_frames(tmp_path):
    """eva_split=original (the published numbers): trial 1 whole in train and eval, as the original's
    HumanEva1Example never applies its stored partition; intended: eval is trial 1 [p0, p1) only."""
    from apo_tf.config import load_gan_config, load_inference_config

    _write_eva(tmp_path / "eva.hdf5")
    gt = h5py.File(tmp_path / "eva.hdf5", "r")["subjects/S1/sequences/Walking_1/p3"][()] / 1000.0
    frames = {}
    for split in ("original", "intended"):
        ev = registry.load("eva_s14_scaled_c1", "eval", tmp_path, eva_split=split)
        tr = registry.load("eva_s14_scaled_c1", "train", tmp_path, eva_split=split)
        frames[split] = ev[0].p3w
        trial1 = next(s for s in tr if s.name == "Walking_1").p3w
        overlap = (np.abs(ev[0].p3w[:, None] - trial1[None]).max(axis=(-1, -2)) < 1e-9).any(1)
        assert overlap.all() if split == "original" else not overlap.any()
    np.testing.assert_allclose(frames["original"], eva.raw_to_s14(gt).astype(np.float32), atol=1e-6)
    np.testing.assert_allclose(frames["intended"], frames["original"][18:28])
    assert load_gan_config("eva_big").eva_split == "original" == load_inference_config("eva_big").eva_split


def test_data_sets_are_registered_beside_their_readers():
    from motionkit.datasets.registry import get_spec, load_function

    seqs = load_function("apo-synth_tiny")(_tiny_root())
    assert len(seqs) == 6 and seqs[0].p3w.shape[1:] == (24, 3)
    assert not get_spec("apo-h3m").redistributable and "convert-h3m" in get_spec("apo-h3m").how_to_get
