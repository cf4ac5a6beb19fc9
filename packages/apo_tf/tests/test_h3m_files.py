"""Human3.6M as users bring it: human_pose_util's 24-joint int32 ``data.hdf5``, and the official CDF download
converted by :mod:`apo_tf.data.h3m_convert`. Every file here is written by the test in the exact format."""

import h5py
import numpy as np
import pytest

from apo_tf.config import load_gan_config, load_inference_config
from apo_tf.data import h3m, registry, synthetic
from apo_tf.data.h3m_convert import convert
from apo_tf.infer import run_inference
from apo_tf.train import train
from motionkit.errors import DataFormatError
from motionkit.skeletons import get_skeleton

# human_pose_util/dataset/h3m/skeleton.py: raw CDF index of each s24 joint, in s24 order
HPU_S24_RAW = (12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 15, 14, 17, 18, 19, 21, 22, 25, 26, 27, 29, 30)


def _raw_tiny():
    """Synthetic sequences with 32 raw joints: S1, S5 (train), S9 (eval), 4 cameras each."""
    return synthetic.generate("synth_tiny", seed=0)


def write_hpu_file(path, raws):
    """A ``data.hdf5`` written as human_pose_util's ``convert()`` writes it: root attr n_joints = 24; per sequence
    an int32 p3 (T, 24, 3) and attr len; per view int32 p2 (T, 24, 2) and int32 p3 (T, 24, 3)."""
    idx = list(HPU_S24_RAW)
    with h5py.File(path, "w") as f:
        f.attrs["n_joints"] = len(idx)
        subjects = f.create_group("subjects")
        for raw in raws:
            grp = subjects.require_group(raw.subject).require_group("sequences").create_group(raw.name)
            d = grp.create_dataset("p3", (len(raw.p3), 24, 3), dtype=np.int32)
            d[...] = raw.p3[:, idx]
            grp.attrs["len"] = len(raw.p3)
            views = grp.create_group("views")
            for cam, v in raw.views.items():
                vg = views.create_group(cam)
                d2 = vg.create_dataset("p2", (len(v.p2), 24, 2), dtype=np.int32)
                d2[...] = v.p2[:, idx]
                d3 = vg.create_dataset("p3", (len(v.p3), 24, 3), dtype=np.int32)
                d3[...] = v.p3[:, idx]


def test_hpu_s24_indices_are_apo_s24():
    raw = get_skeleton("h36m_32")
    assert list(get_skeleton("apo_s24").joints) == [raw.joints[i] for i in HPU_S24_RAW]


def test_read_the_human_pose_util_file_then_train_and_infer(tmp_path, monkeypatch):
    monkeypatch.delenv("H3M_DATA", raising=False)
    raws = _raw_tiny()
    root = tmp_path / "data"
    root.mkdir()
    write_hpu_file(root / "h3m.hdf5", raws)
    seqs = h3m.read_sequences(root / "h3m.hdf5")
    assert {s.skeleton for s in seqs} == {"apo_s24"} and seqs[0].p3.shape[1:] == (24, 3)
    ev = registry.load("h3m_consistent_scaled_c1_10fps", "eval", root)
    assert len(ev) == 2 and ev[0].p3w.shape == (20, 24, 3) and ev[0].camera_id == "55011271"
    # the same poses as the raw-32 reading of the same data, up to the int32 truncation (< 1 mm)
    ref = {s.key: s for s in registry.load("h3m_consistent_scaled_c1_10fps", "eval", _raw_root(tmp_path, raws))}
    assert max(np.abs(s.p3w - ref[s.key].p3w).max() for s in ev) < 1.01e-3
    s14 = registry.load("h3m_s14_scaled_c1_10fps", "eval", root)
    assert s14[0].p3w.shape == (20, 14, 3)
    home = tmp_path / "home"
    over = {"dataset": "h3m_consistent_scaled_c1", "data_root": str(root), "max_steps": 120, "gan_id": "h3m_tiny"}
    assert train(load_gan_config("synth_tiny", over), home, verbose=False)["step"] == 120
    inf = load_inference_config("synth_tiny", {"dataset": "h3m_consistent_scaled_c1_10fps", "gan_id": "h3m_tiny",
                                               "data_root": str(root), "max_sequences": 1, "maxiter": 50})
    assert run_inference(inf, home, verbose=False)["frames"] == 20


def _raw_root(tmp_path, raws):
    root = tmp_path / "raw32"
    h3m.write_sequences(root / "h3m.hdf5", raws)
    return root


def _write_cdf(path, pose):
    """One official pose CDF: zVariable ``Pose``, one record of shape (T, 32 * dim), float32."""
    from cdflib.cdfwrite import CDF

    path.parent.mkdir(parents=True, exist_ok=True)
    T, D = pose.shape[0], pose.shape[1] * pose.shape[2]
    w = CDF(str(path))
    w.write_var({"Variable": "Pose", "Data_Type": 21, "Num_Elements": 1, "Rec_Vary": True, "Dim_Sizes": [T, D]},
                var_data=pose.reshape(1, T, D).astype(np.float32))
    w.close()


def write_official(root, raws, layout="official"):
    """The pose CDFs of the official download (``official``) or of the original README's ``$H3M_PATH``."""
    for raw in raws:
        if layout == "official":
            d3, d2, mono = (root / raw.subject / "MyPoseFeatures" / k
                            for k in ("D3_Positions", "D2_Positions", "D3_Positions_mono"))
        else:
            d3, d2, mono = (root / k / raw.subject for k in ("D3_positions", "D2_positions", "D3_positions_mono"))
        _write_cdf(d3 / f"{raw.name}.cdf", raw.p3)
        for cam, v in raw.views.items():
            _write_cdf(d2 / f"{raw.name}.{cam}.cdf", v.p2)
            _write_cdf(mono / f"{raw.name}.{cam}.cdf", v.p3)


@pytest.mark.parametrize("layout", ["official", "h3m_path"])
def test_converter_writes_the_human_pose_util_file(tmp_path, layout):
    pytest.importorskip("cdflib")
    raws = [r for r in _raw_tiny() if r.name != "Sitting 1"]
    write_official(tmp_path / "cdf", raws, layout)
    out = convert(tmp_path / "cdf", tmp_path / "h3m.hdf5", verbose=False)
    write_hpu_file(tmp_path / "reference.hdf5", [_as_float32(r) for r in raws])
    with h5py.File(out, "r") as a, h5py.File(tmp_path / "reference.hdf5", "r") as b:
        assert a.attrs["n_joints"] == 24
        names_a, names_b = [], []
        a.visititems(lambda n, o: names_a.append(n))
        b.visititems(lambda n, o: names_b.append(n))
        assert names_a == names_b
        for n in names_a:
            if isinstance(a[n], h5py.Dataset):
                assert a[n].dtype == np.int32
                np.testing.assert_array_equal(a[n][()], b[n][()], err_msg=n)
            else:
                assert dict(a[n].attrs) == dict(b[n].attrs), n
    full = convert(tmp_path / "cdf", tmp_path / "h3m32.hdf5", joints=32, verbose=False)
    back = {(s.subject, s.name): s for s in h3m.read_sequences(full)}
    for raw in raws:
        seq = back[raw.subject, raw.name]
        assert seq.skeleton == "h36m_32" and seq.p3.shape[1:] == (32, 3)
        np.testing.assert_allclose(seq.p3, raw.p3, rtol=1e-6, atol=1e-3)  # float32 storage


def _as_float32(raw):
    """What survives the CDF's float32 storage."""
    views = {k: h3m.RawView(k, v.p2.astype(np.float32), v.p3.astype(np.float32)) for k, v in raw.views.items()}
    return h3m.RawSequence(raw.subject, raw.name, raw.p3.astype(np.float32), views, raw.fps)


@pytest.mark.fault(3, "a pose CDF holding NaN: refused naming the CDF, never converted to int32")
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_converter_refuses_non_finite_poses(tmp_path, value):
    pytest.importorskip("cdflib")
    raws = _raw_tiny()[:1]
    raws[0].p3[3, 5, 1] = value
    write_official(tmp_path / "cdf", raws, "official")
    with pytest.raises(DataFormatError, match=f"{raws[0].name}.cdf: frame 3 holds {value}"):
        convert(tmp_path / "cdf", tmp_path / "h3m.hdf5", verbose=False)
    assert not (tmp_path / "h3m.hdf5").exists() and not (tmp_path / "h3m.hdf5.tmp").exists()


@pytest.mark.fault(4, "convert-h3m on a folder without the official CDFs")
def test_converter_one_line_errors(tmp_path):
    from motionkit.errors import DatasetMissingError

    with pytest.raises(DatasetMissingError, match="no Human3.6M pose CDFs"):
        convert(tmp_path, tmp_path / "out.hdf5", verbose=False)
