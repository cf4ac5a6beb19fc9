"""Loaders read real-format files written here, reject malformed ones in one line; windows, groups, derived."""

import json

import numpy as np
import pytest

from diverse_sampling.data.dataset import build_test_set, load_split, multimodal_groups, to_nodes
from diverse_sampling.data.derived import load_or_build_pool, load_or_build_valid_angles
from diverse_sampling.data.io import read_positions, write_positions
from diverse_sampling.data.kinematics import bone_lengths, h36m_angles, retarget
from diverse_sampling.data.layout import H36M, HUMANEVA
from diverse_sampling.data.synthetic import make_synthetic
from motionkit.errors import DataFormatError, DatasetMissingError


def _takes(n_joints=32, frames=40):
    rng = np.random.default_rng(0)
    return {"S1": {"Walking": rng.normal(size=(frames, n_joints, 3)).astype(np.float32),
                   "Eating 1": rng.normal(size=(frames, n_joints, 3)).astype(np.float32)},
            "S9": {"Walking": rng.normal(size=(frames, n_joints, 3)).astype(np.float32)}}


@pytest.mark.parametrize("legacy", [True, False])
def test_reads_videopose3d_npz_written_here(tmp_path, legacy):
    takes = _takes()
    if legacy:  # exactly what VideoPose3D's prepare_data_h36m.py writes
        np.savez_compressed(tmp_path / "data_3d_h36m.npz", positions_3d=takes)
    else:
        write_positions(tmp_path / "data_3d_h36m.npz", takes, legacy=False)
    back = read_positions(tmp_path / "data_3d_h36m.npz", 32)
    assert sorted(back) == ["S1", "S9"] and sorted(back["S1"]) == ["Eating 1", "Walking"]
    np.testing.assert_array_equal(back["S1"]["Eating 1"], takes["S1"]["Eating 1"])


def test_humaneva_subject_keys_with_slash(tmp_path):
    takes = {"Train/S1": {"Jog 1 chunk0": np.zeros((20, 15, 3), np.float32)}}
    write_positions(tmp_path / "he.npz", takes, legacy=False)
    assert read_positions(tmp_path / "he.npz", 15)["Train/S1"]["Jog 1 chunk0"].shape == (20, 15, 3)


MALFORMED = {  # file content -> the one line's expected text
    "bad_shape": ({"positions_3d": {"S1": {"Walking": np.zeros((10, 17, 3), np.float32)}}},
                  r"take S1/Walking has shape \(10, 17, 3\)"),
    "not_a_zip": (b"not a zip file", "not a readable npz"),
    "foreign_key": ({"positions": np.zeros(3)}, "key 'positions'"),
    "nan": ({"positions_3d": {"S1": {"Walking": np.full((10, 32, 3), np.nan, np.float32)}}}, "NaN"),
    "int_dtype": ({"positions_3d": {"S1": {"Walking": np.zeros((10, 32, 3), np.int64)}}}, "dtype int64"),
    "no_takes": ({"positions_3d": {}}, "contains no takes"),
}


@pytest.mark.fault(4, "a malformed motion file (shape, bytes, keys, NaN, dtype, empty)")
@pytest.mark.parametrize("case", list(MALFORMED))
def test_rejects_malformed_files_in_one_line(tmp_path, case):
    content, message = MALFORMED[case]
    path = tmp_path / f"{case}.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.savez_compressed(path, **content)
    with pytest.raises(DataFormatError, match=message) as err:
        read_positions(path, 32)
    assert "\n" not in str(err.value) and path.name in str(err.value)


@pytest.mark.fault(4, "the data file is missing")
def test_missing_file_says_where_to_get_it(tmp_path, small_cfg):
    cfg = small_cfg("t1", data_root=str(tmp_path / "nothing"))
    with pytest.raises(DatasetMissingError, match="data_3d_h36m.npz not found: get Human3.6M from"):
        load_split(cfg, "train")


def test_joint_selection_root_relative():
    pos = np.random.default_rng(0).normal(size=(5, 32, 3)).astype(np.float32)
    nodes = to_nodes(pos, H36M)
    assert nodes.shape == (5, 16, 3)
    np.testing.assert_allclose(nodes[:, 0], pos[:, 1] - pos[:, 0], atol=1e-6)
    np.testing.assert_allclose(nodes[:, 15], pos[:, 27] - pos[:, 0], atol=1e-6)
    assert to_nodes(np.zeros((5, 15, 3), np.float32), HUMANEVA).shape == (5, 14, 3)


def test_synthetic_constant_bones_both_variants(tmp_path):
    for ds, layout in (("h36m", H36M), ("humaneva", HUMANEVA)):
        path = make_synthetic(ds, tmp_path / ds, frames_per_take=100, takes_per_action=1)
        takes = read_positions(path, layout.n_file_joints)
        seq = to_nodes(next(iter(next(iter(takes.values())).values())), layout)
        lengths = bone_lengths(seq, layout.node_parents)
        assert lengths.std(0).max() < 1e-5 and lengths.min() > 0.05
    he = read_positions(tmp_path / "humaneva" / "data_3d_humaneva15.npz", 15)
    assert sorted(he) == ["Train/S1", "Train/S2", "Train/S3", "Validate/S1", "Validate/S2", "Validate/S3"]


def test_splits_windows_and_groups(small_cfg):
    cfg = small_cfg("t1", max_test_windows=0)
    train = load_split(cfg, "train")
    assert sorted(train.takes) == ["S1", "S5", "S6"]
    test = build_test_set(cfg)
    seq = load_split(cfg, "test").takes["S9"]
    first = sorted(seq)[0]
    n_first = len(range(0, seq[first].shape[0] - cfg.t_total, cfg.t_his))  # the original's range
    np.testing.assert_allclose(test.windows[1].reshape(cfg.t_total, 16, 3),
                               seq[first][cfg.t_his : cfg.t_his + cfg.t_total], atol=1e-6)
    assert n_first >= 2 and test.windows.shape[1:] == (cfg.t_total, 48)
    for i, g in enumerate(test.groups):
        assert g[0] == i
        d = np.linalg.norm(test.windows[g, cfg.t_his - 1] - test.windows[i, cfg.t_his - 1], axis=-1)
        assert (d < cfg.mm_threshold).all()
    assert sum(len(g) - 1 for g in test.groups) > 0  # the futures really branch


def test_multimodal_groups_hand_case():
    last = np.array([[0.0, 0.0], [0.3, 0.0], [2.0, 0.0]])
    groups = multimodal_groups(last, 0.5)
    assert [g.tolist() for g in groups] == [[0, 1], [1, 0], [2]]


def test_retarget_keeps_directions_and_sets_lengths():
    parents = H36M.node_parents
    pos = np.random.default_rng(0).normal(size=(4, 16, 3))
    target = np.linspace(0.1, 0.5, 16)
    out = retarget(pos, target, parents)
    np.testing.assert_allclose(bone_lengths(out, parents), np.broadcast_to(target, (4, 16)), atol=1e-9)


def test_candidate_pool_and_valid_angles(small_cfg):
    cfg = small_cfg("t1")
    pool = load_or_build_pool(cfg, log=lambda m: None)
    assert pool.dirs.shape[1:] == (cfg.t_total, 16, 3)
    np.testing.assert_allclose(np.linalg.norm(pool.dirs, axis=-1), 1.0, atol=1e-5)
    assert pool.coverage() > 0.2
    data = load_split(cfg, "train")
    s, a = "S1", sorted(data.takes["S1"])[0]
    seq = data.takes[s][a]
    for start in range(0, seq.shape[0] - cfg.t_total + 1, 7):
        for n in pool.candidates(s, a, start):
            cand = pool.positions(s, int(n))
            last = np.linalg.norm(cand[cfg.t_his - 1] - seq[start + cfg.t_his - 1], axis=-1)
            assert last.mean() <= cfg.pool_thre_his
            assert np.linalg.norm(cand[cfg.t_his - 1] - seq[start + cfg.t_his - 1]) < cfg.pool_dlow_filter + 0.05
    bounds = load_or_build_valid_angles(cfg, log=lambda m: None)
    assert len(bounds) == 13 and all(-1.0 <= lo <= hi <= 1.0 for lo, hi in bounds.values())
    import torch

    cos = h36m_angles(torch.from_numpy(data.all_frames().astype(np.float64)))
    for name, (lo, hi) in bounds.items():  # the bounds are the extremes over the training data
        assert cos[name].min().item() == pytest.approx(lo) and cos[name].max().item() == pytest.approx(hi)
    cached = json.loads((cfg.resolved_derived_dir() / "h36m_valid_angle.json").read_text())
    assert cached["bounds"] == bounds


@pytest.mark.fault(4, "a folder where the data file belongs")
def test_a_folder_where_the_data_file_belongs_is_one_line(tmp_path, small_cfg):
    (tmp_path / "data_3d_h36m.npz").mkdir()
    with pytest.raises(DataFormatError, match="data_3d_h36m.npz: is a folder"):
        load_split(small_cfg("t1", data_root=str(tmp_path)), "train")


@pytest.mark.fault(4, "all-zero training poses")
def test_degenerate_poses_are_refused_in_one_line(tmp_path, small_cfg):
    takes = {s: {"Walking": np.zeros((60, 32, 3), np.float32)} for s in ("S1", "S5", "S6", "S9")}
    np.savez_compressed(tmp_path / "data_3d_h36m.npz", positions_3d=takes)
    with pytest.raises(DataFormatError, match="take S1/Walking: bone of node 0 is 0 m long") as err:
        load_split(small_cfg("t1", data_root=str(tmp_path)), "train")
    assert "\n" not in str(err.value)
