"""Procrustes metrics: similarity copies score 0; mirror copies only with reflections allowed; summaries."""

import numpy as np

from apo_tf.evaluate import format_table, per_joint_errors, summarize


def _rot(axis, a):
    c, s = np.cos(a), np.sin(a)
    m = np.eye(3)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def test_similarity_copy_scores_zero_and_mirror_needs_reflection():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(5, 14, 3))
    R = _rot(0, 0.3) @ _rot(2, 1.1)
    pred = 1.7 * gt @ R.T + np.array([0.3, -2.0, 5.0])
    e = per_joint_errors(pred, gt)
    for m in ("proc_error", "pa_mpjpe", "sequence_proc_error"):
        assert e[m].shape == (5, 14) and e[m].max() < 1e-8, m
    mirrored = pred * np.array([-1.0, 1.0, 1.0])
    e = per_joint_errors(mirrored, gt)
    assert e["proc_error"].max() < 1e-8  # the original allows reflections
    assert e["sequence_proc_error"].max() < 1e-8
    assert e["pa_mpjpe"].mean() > 100.0  # standard protocol: a mirror image is an error (mm)


def test_sequence_procrustes_is_one_transform():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(4, 10, 3))
    pred = gt.copy()
    pred[1] = gt[1] @ _rot(2, 0.7).T  # one frame rotated differently
    e = per_joint_errors(pred, gt)
    assert e["proc_error"].max() < 1e-8
    assert e["sequence_proc_error"].mean() > 1.0


def test_root_relative_mpjpe():
    gt = np.zeros((1, 3, 3))
    gt[0, 1, 0], gt[0, 2, 1] = 1.0, 1.0
    pred = gt + np.array([5.0, 0, 0])  # pure translation: root-relative error 0
    assert per_joint_errors(pred, gt)["mpjpe"].max() == 0.0
    pred[0, 2, 2] += 0.003  # 3 mm on one of 3 joints
    np.testing.assert_allclose(per_joint_errors(pred, gt)["mpjpe"].mean(), 1.0)


def test_summaries_frame_weighted_and_category_mean():
    mk = lambda v, T: {m: np.full((T, 2), v) for m in ("proc_error", "pa_mpjpe", "sequence_proc_error", "mpjpe")}  # noqa: E731
    errors = {"a": mk(10.0, 1), "b": mk(40.0, 3)}
    table = summarize(errors, {"a": "Walk", "b": "Sit"}, ("Sit", "Walk"))
    assert list(table)[:2] == ["Sit", "Walk"]
    assert table["Total (frames)"]["proc_error"] == 32.5  # (10 + 3 * 40) / 4
    assert table["Total (categories)"]["proc_error"] == 25.0
    assert "Total (frames)" in format_table(table, "t")
