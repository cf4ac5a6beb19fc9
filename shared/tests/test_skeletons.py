import numpy as np
import pytest

from motionkit.skeletons import SKELETONS, Skeleton, get_skeleton


@pytest.mark.parametrize("name", sorted(SKELETONS))
def test_parents_form_a_tree(name):
    sk = SKELETONS[name]
    assert len(sk.parents) == sk.n_joints
    # every joint reaches a root without cycles, and the bone count is J minus the number of roots
    for j in range(sk.n_joints):
        seen, k = set(), j
        while k != -1:
            assert k not in seen
            seen.add(k)
            k = sk.parents[k]
    assert len(sk.bones) == sk.n_joints - len(sk.roots)
    if sk.root_dropped:
        assert len(sk.roots) >= 2  # a tree whose root was removed
    else:
        assert len(sk.roots) == 1


@pytest.mark.parametrize("name", sorted(SKELETONS))
def test_symmetry_is_an_involution(name):
    sk = SKELETONS[name]
    perm = sk.mirror_perm
    assert sorted(perm) == list(range(sk.n_joints))
    np.testing.assert_array_equal(perm[perm], np.arange(sk.n_joints))
    for left, right in sk.symmetry:
        assert perm[sk.index(left)] == sk.index(right)
    # mirrored labels map a left joint's parent to the right joint's parent (the tree is symmetric)
    for left, right in sk.symmetry:
        pl, pr = sk.parents[sk.index(left)], sk.parents[sk.index(right)]
        assert (pl == -1 and pr == -1) or perm[pl] == pr


def test_expected_sizes():
    sizes = {"kinect_v2_25": 25, "jk2017_kinect_21": 21, "h36m_32": 32, "h36m_17": 17, "h36m_16": 16,
             "apo_s24": 24, "apo_s16": 16, "apo_s14": 14, "humaneva_15": 15, "humaneva_14": 14, "nads_9": 9,
             "pats_52": 52}
    assert {k: v.n_joints for k, v in SKELETONS.items()} == sizes


def test_h36m_17_keeps_the_dlow_joints():
    raw = np.arange(32)[None, :, None].repeat(3, axis=2).astype(float)  # pose whose coords are the raw index
    kept = get_skeleton("h36m_32").convert(raw, "h36m_17")[0, :, 0].astype(int).tolist()
    assert kept == [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27]
    assert get_skeleton("h36m_17").parents == (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)


def test_apo_s24_raw_indices_and_s14_conversion():
    raw = np.arange(32)[:, None].repeat(3, axis=1).astype(float)
    s24 = get_skeleton("h36m_32").convert(raw, "apo_s24")[:, 0].astype(int).tolist()
    assert s24 == [12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 15, 14, 17, 18, 19, 21, 22, 25, 26, 27, 29, 30]
    s16 = get_skeleton("apo_s16")
    poses = np.random.default_rng(0).normal(size=(4, 16, 3))
    s14 = s16.convert(poses, "apo_s14")
    names = get_skeleton("apo_s14").joints
    for i, n in enumerate(names):
        np.testing.assert_array_equal(s14[:, i], poses[:, s16.index(n)])


def test_jk2017_is_the_first_21_kinect_joints():
    kinect, jk = get_skeleton("kinect_v2_25"), get_skeleton("jk2017_kinect_21")
    assert jk.joints == kinect.joints[:21]
    poses = np.random.default_rng(1).normal(size=(7, 25, 3))
    np.testing.assert_array_equal(kinect.convert(poses, jk), poses[:, :21])


def test_nads_order_and_pats_hands():
    nads = get_skeleton("nads_9")
    assert nads.joints[3] == "neck" and nads.roots == [3]
    pats = get_skeleton("pats_52")
    assert pats.parents[10] == pats.index("l_wrist") and pats.parents[31] == pats.index("r_wrist")


def test_convert_rejects_missing_joints_and_wrong_shapes():
    with pytest.raises(ValueError, match="missing joints"):
        get_skeleton("apo_s14").convert(np.zeros((14, 3)), "h36m_17")
    with pytest.raises(ValueError, match="joints"):
        get_skeleton("h36m_17").convert(np.zeros((16, 3)), "h36m_16")


def test_invalid_skeletons_are_rejected():
    with pytest.raises(ValueError, match="cycle"):
        Skeleton("bad", ("a", "b"), (1, 0))
    with pytest.raises(ValueError, match="unknown joint"):
        Skeleton("bad", ("a", "b"), (-1, 0), (("a", "c"),))
    with pytest.raises(KeyError, match="unknown skeleton"):
        get_skeleton("nope")


def test_bone_lengths():
    sk = get_skeleton("nads_9")
    pose = np.zeros((9, 2))
    pose[sk.index("r_shoulder")] = (3.0, 4.0)
    lengths = sk.bone_lengths(pose)
    bone = sk.bones.index((sk.index("r_shoulder"), sk.index("neck")))
    assert lengths[bone] == pytest.approx(5.0)
