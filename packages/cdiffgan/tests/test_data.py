import h5py
import numpy as np
import pandas as pd
import pytest

from cdiffgan.data.clusters import Preprocessor, kmeans_features, pose_feature_index
from cdiffgan.data.fewshot import fewshot_indices
from cdiffgan.data.pats import PatsData, collapse_tokens, modality_window, n_windows
from cdiffgan.data.synthetic import make_synthetic, speaker_style, write_interval
from motionkit.errors import DataFormatError, run_cli


def test_window_arithmetic():
    assert modality_window(15, 4.3, 15, 5) == (64, 5, 1)
    assert modality_window(15, 4.3, 15, 0) == (64, 64, 1)
    assert modality_window(103, 4.3, 15, 5) == (442, 35, 7)
    assert modality_window(103, 4.3, 15, 0) == (442, 442, 7)
    assert n_windows(63, 64, 5) == 0 and n_windows(64, 64, 5) == 1 and n_windows(150, 64, 5) == 18


def _write_ramp(root, T=150, Ta=1040):
    pose = np.tile(np.arange(T, dtype=np.float32)[:, None], (1, 104))
    audio = np.tile(np.arange(Ta, dtype=np.float32)[:, None], (1, 64))
    tokens = np.repeat(np.arange(T // 3 + 1), 3)[:T]
    write_interval(root / "processed" / "spk" / "a.h5", {"pose": pose, "audio": audio, "tokens": tokens})
    pd.DataFrame({"interval_id": ["a"], "speaker": ["spk"], "dataset": ["train"]}).to_csv(
        root / "cmu_intervals_df.csv", index=False)


def test_windows_resampled_to_64_frames(tmp_path):
    _write_ramp(tmp_path)
    d = PatsData(tmp_path, ["spk"], "train", window_hop=5)
    # pose: (150-64)//5+1 = 18; audio: (1040-442)//35+1 = 18
    assert len(d) == 18
    it = d.item(3)
    assert it["pose"].shape == (64, 104) and it["audio"].shape == (64, 64) and it["tokens"].shape == (64,)
    assert it["pose"][0, 0] == 15 and it["pose"][-1, 0] == 15 + 63
    assert it["audio"][0, 0] == 3 * 35 and it["audio"][1, 0] == 3 * 35 + 7 and it["audio"][-1, 0] == 105 + 441
    d0 = PatsData(tmp_path, ["spk"], "train", window_hop=0)
    assert len(d0) == min(150 // 64, 1040 // 442) == 2
    assert d0.item(1)["pose"][0, 0] == 64 and d0.item(1)["audio"][0, 0] == 442


def test_collapse_tokens():
    ids, dur = collapse_tokens(np.array([5, 5, 7, 7, 7, 5, 9]))
    assert ids.tolist() == [5, 7, 5, 9] and dur.tolist() == [2, 3, 1, 1] and dur.sum() == 7


def test_fewshot_sampler_identical_for_old_speakers(syn_dir):
    d2 = PatsData(syn_dir, ["oliver", "maher"], "train", 5)
    d3 = PatsData(syn_dir, ["oliver", "maher", "chemistry"], "train", 5)
    a = fewshot_indices(d2.ranges, ["oliver", "maher"], 7, 1)
    b = fewshot_indices(d3.ranges, ["oliver", "maher", "chemistry"], 7, 1)
    assert len(a) == 14 and len(b) == 21
    wa = [(d2.windows[i].interval_id, d2.windows[i].pose_start) for i in a]
    wb = [(d3.windows[i].interval_id, d3.windows[i].pose_start) for i in b[:14]]
    assert wa == wb
    assert all(d3.windows[i].speaker == "chemistry" for i in b[14:])
    assert fewshot_indices(d2.ranges, ["oliver", "maher"], 7, 1) == a
    assert fewshot_indices(d2.ranges, ["oliver", "maher"], 7, 2) != a


@pytest.mark.fault(6, "the shared statistics cache is read back, never recomputed by a second run")
def test_znorm_and_kmeans_cached(syn_dir, monkeypatch):
    pre = Preprocessor.build(syn_dir, ["oliver"], num_clusters=4, log=lambda *_: None)
    assert (syn_dir / "preprocessing" / "muvar" / "oliver.h5").exists()
    km = syn_dir / "preprocessing" / "kmeans" / "oliver.h5"
    with h5py.File(km) as f:
        assert f["centers/4_pose_velocity_speed_0_7_8_9_pose_normalize"].shape == (4, 240)
    d = PatsData(syn_dir, ["oliver"], "train")
    P, A = d.frames("oliver")
    np.testing.assert_allclose(pre.pose_mean, P.mean(0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(pre.audio_std ** 2, A.var(0), rtol=1e-3, atol=1e-4)
    import sklearn.cluster

    def boom(*a, **k):
        raise AssertionError("k-means recomputed instead of read from the cache")
    monkeypatch.setattr(sklearn.cluster, "MiniBatchKMeans", boom)
    pre2 = Preprocessor.build(syn_dir, ["oliver"], num_clusters=4, log=lambda *_: None)
    np.testing.assert_array_equal(pre2.centers, pre.centers)
    labels = pre2.labels(P[:, pose_feature_index([0, 7, 8, 9])][None])
    assert labels.shape == (1, len(P)) and labels.max() < 4


def test_kmeans_features():
    p = np.zeros((3, 96))
    p[1, 0], p[1, 48] = 3, 4
    f = kmeans_features(p)
    assert f.shape == (3, 240) and f[1, 192] == 5 and f[2, 192] == 5 and f[0, 96:].sum() == 0


def test_synthetic_styles_and_audio_drive_motion(syn_dir):
    d = PatsData(syn_dir, ["oliver", "chemistry"], "train")
    amps = {}
    for spk in ("oliver", "chemistry"):
        P, A = d.frames(spk)
        wrist = np.hypot(P[:, 3] - P[:, 3].mean(), P[:, 55] - P[:, 55].mean()) + np.hypot(
            P[:, 6] - P[:, 6].mean(), P[:, 58] - P[:, 58].mean())
        amps[spk] = wrist.std()
        # the loudness of the audio (aligned to 15 fps) correlates with how far the hands are from rest
        iid = d.intervals[spk][0]
        one = d.load(spk, iid)
        loud = np.exp(one["audio"]).sum(1)
        loud15 = np.interp(np.arange(len(one["pose"])) / 15, np.arange(len(loud)) / 103, loud)
        far = np.abs(one["pose"][:, [3, 6]] - np.array([-170, 170])).sum(1)
        assert np.corrcoef(loud15, far)[0, 1] > 0.5
    assert amps["chemistry"] > 1.5 * amps["oliver"]
    assert speaker_style(0)["freq"] != speaker_style(2)["freq"]
    assert len(PatsData(syn_dir, ["oliver"], "test")) > 0
    assert "missing_000" not in d.intervals["oliver"]


@pytest.mark.fault(4, "a malformed interval h5: one line naming the file and what is wrong")
@pytest.mark.parametrize("damage", ["pose-width", "not-hdf5"])
def test_malformed_h5_names_file(tmp_path, damage):
    make_synthetic(tmp_path, ("oliver",), 1, 0, 0, seconds=(5, 5))
    bad = tmp_path / "processed" / "oliver" / "oliver_train_000.h5"
    if damage == "pose-width":
        with h5py.File(bad, "w") as f:
            f["pose/normalize"] = np.zeros((70, 100), np.float32)
            f["audio/log_mel_400"] = np.zeros((500, 64), np.float32)
            f["text/tokens"] = np.zeros(70, np.int64)
        with pytest.raises(DataFormatError, match="oliver_train_000.h5.*pose/normalize.*104"):
            PatsData(tmp_path, ["oliver"], "train")
    else:
        bad.write_bytes(b"not hdf5")
        with pytest.raises(DataFormatError, match="oliver_train_000.h5: not a readable HDF5"):
            PatsData(tmp_path, ["oliver"], "train")


@pytest.mark.fault(4, "a csv without the dataset column: one line naming the file")
def test_malformed_csv_is_one_line_cli_error(tmp_path, capsys):
    from cdiffgan.main import main
    (tmp_path / "cmu_intervals_df.csv").write_text("interval_id,speaker\n1,oliver\n")
    rc = run_cli(main, ["continual", "--config", str(__import__("pathlib").Path(__file__).parents[1] / "configs" /
                                                     "test_tiny.yaml"), "-data_dir", str(tmp_path),
                        "--log_dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "cmu_intervals_df.csv" in err and "dataset" in err


@pytest.mark.fault(3, "a token id beyond the vocabulary: one line naming the file")
def test_token_ids_out_of_range_are_one_line(tmp_path):
    make_synthetic(tmp_path, ("oliver",), 1, 0, 0, seconds=(5, 5))
    with h5py.File(tmp_path / "processed" / "oliver" / "oliver_train_000.h5", "a") as f:
        tok = f["text/tokens"][()]
        tok[3] = 50_000
        f["text/tokens"][...] = tok
    PatsData(tmp_path, ["oliver"], "train")                     # no vocabulary given: not checked
    with pytest.raises(DataFormatError, match="oliver_train_000.h5.*text/tokens.*0..30521"):
        PatsData(tmp_path, ["oliver"], "train", vocab_size=30522)
