"""CLI: make-synthetic, evaluate, render, generate, featurize (librosa), DDP via torchrun."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cdiffgan.main import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-speaker tiny continual run through the CLI (make-synthetic -> continual)."""
    tmp = tmp_path_factory.mktemp("cli")
    data = tmp / "data"
    assert main(["make-synthetic", "--out", str(data), "--speakers", "oliver,maher", "--n_train", "2",
                 "--n_dev", "1", "--n_test", "1"]) == 0
    assert main(["continual", "--config", str(CONFIGS / "test_tiny.yaml"), "-data_dir", str(data),
                 "--log_dir", str(tmp / "runs"), "-speaker", "oliver,maher", "-num_epochs_tn", "1",
                 "-replay", "no-replay-fs"]) == 0
    return tmp / "runs" / "cdiffgan" / "tiny_no-replay-fs_k3_fs1"


def test_evaluate_table(tiny_run, capsys, monkeypatch):
    monkeypatch.chdir(tiny_run.parents[2])                          # evaluate by run name: runs/cdiffgan/<name>
    assert main(["evaluate", tiny_run.name]) == 0
    out = capsys.readouterr().out
    assert "pck" in out and "oliver" in out and "maher" in out and "forgetting" in out
    csv = (tiny_run / "continual_table.csv").read_text().splitlines()
    assert csv[0] == "metric,step,oliver,maher,avg_seen"
    assert (tiny_run / "continual_plot.png").stat().st_size > 1000


def test_render_gif(tiny_run, tmp_path):
    assert main(["render", str(tiny_run), "--n", "1", "--speaker", "maher", "--out", str(tmp_path / "r")]) == 0
    files = list((tmp_path / "r").rglob("*.gif"))
    assert len(files) == 1 and all(f.stat().st_size > 1000 for f in files)


def _ffmpeg_or_skip():
    from cdiffgan.render import find_ffmpeg

    ff = find_ffmpeg()
    if ff is None:
        pytest.skip("no ffmpeg (install the [video] extra)")
    return ff


def _write_wav(path, signal, sr=16000):
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())


def _mp4_audio(ff, mp4, sr=8000):
    """The MP4's audio track decoded to mono float samples."""
    raw = subprocess.run([ff, "-loglevel", "error", "-i", str(mp4), "-vn", "-f", "s16le", "-ac", "1", "-ar", str(sr),
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<i2").astype(np.float64) / 32767


def test_write_video_takes_the_windows_stretch_of_audio(tmp_path):
    # 12 s interval: silent except a tone over [4.3, 8.6) s, i.e. the second 4.3 s window. The render of that
    # window must carry the tone, cut to the video's 64 frames at 15 fps.
    from PIL import Image

    from cdiffgan.render import write_video

    ff = _ffmpeg_or_skip()
    sr = 16000
    t = np.arange(12 * sr) / sr
    _write_wav(tmp_path / "interval.wav", 0.5 * np.sin(2 * np.pi * 440 * t) * ((t >= 4.3) & (t < 8.6)), sr)
    frames = [Image.new("RGB", (64, 48), (4 * k, 0, 0)) for k in range(64)]
    gif = tmp_path / "window.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=1000 // 15, loop=0)
    second = _mp4_audio(ff, write_video(gif, tmp_path / "interval.wav", fps=15, audio_offset=4.3))
    first = _mp4_audio(ff, write_video(gif, tmp_path / "interval.wav", fps=15, audio_offset=0.0))
    assert abs(len(second) / 8000 - 64 / 15) < 0.15
    assert np.sqrt(np.mean(second[: 4 * 8000] ** 2)) > 0.25      # the tone (RMS 0.35)
    assert np.sqrt(np.mean(first[: 4 * 8000] ** 2)) < 0.01       # the silent first window


def test_render_writes_mp4_with_the_intervals_audio(tiny_run, tmp_path):
    import pandas as pd

    ff = _ffmpeg_or_skip()
    data = tiny_run.parents[2] / "data"
    rows = pd.read_csv(data / "cmu_intervals_df.csv")
    for iid in rows[(rows["speaker"] == "maher") & (rows["dataset"] == "test")]["interval_id"].astype(str):
        t = np.arange(120 * 16000) / 16000  # longer than any synthetic interval
        _write_wav(data / "raw" / "maher_cropped" / f"{iid}.wav", 0.5 * np.sin(2 * np.pi * 300 * t))
    assert main(["render", str(tiny_run), "--n", "1", "--speaker", "maher", "--out", str(tmp_path / "r")]) == 0
    (mp4,) = list((tmp_path / "r").rglob("*.mp4"))
    audio = _mp4_audio(ff, mp4)
    assert len(audio) > 8000 * 4 and np.sqrt(np.mean(audio ** 2)) > 0.25


def test_featurize_and_generate(tiny_run, tmp_path):
    pytest.importorskip("librosa")
    import soundfile as sf

    from cdiffgan.data.featurize import log_mel_400
    sr = 16000
    t = np.arange(int(4.6 * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 1000 * t) * (1 + np.sin(2 * np.pi * 0.5 * t))
    mel = log_mel_400(y)
    assert mel.shape == (1 + (len(y) - 512) // 160, 64)
    import librosa
    centres = librosa.mel_frequencies(66, fmin=125, fmax=7500)[1:-1]
    assert abs(centres[mel.mean(0).argmax()] - 1000) < 120          # energy lands in the 1 kHz band
    wav = tmp_path / "speech.wav"
    sf.write(wav, y, sr)
    (tmp_path / "words.csv").write_text("word,start,end\nhello,0.5,1.0\nworld,1.2,2.0\n")
    assert main(["generate", str(tiny_run), "--audio", str(wav), "--speaker", "maher", "--transcript",
                 str(tmp_path / "words.csv"), "--out", str(tmp_path / "gen")]) == 0
    assert (tmp_path / "gen" / "maher.gif").exists()
    import h5py
    with h5py.File(tmp_path / "gen" / "keypoints.h5") as f:
        assert f["pose/normalize"].shape == (64, 96)


@pytest.mark.ddp
def test_ddp_two_process_gloo(tmp_path):
    """torchrun --nproc_per_node=2 (gloo on CPU): t1 + one DiffGAN step; gradients all-reduced each step."""
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not found")
    from cdiffgan.data.synthetic import make_synthetic
    make_synthetic(tmp_path / "data", ("oliver", "maher"), 2, 1, 1, seconds=(9, 10))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "cdiffgan.main", "continual", "--config",
           str(CONFIGS / "test_tiny.yaml"), "--data_dir", str(tmp_path / "data"), "--log_dir",
           str(tmp_path / "runs"), "--speaker", "oliver,maher", "--num_epochs_tn", "1", "--progress", "0"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    run = tmp_path / "runs" / "cdiffgan" / "tiny_pseudo-align-fs-src_k3_fs1"
    assert (run / "step2_maher" / "final.pt").exists() and (run / "continual_table.csv").exists()


def test_compare_before_after(tiny_run, tmp_path):
    finals = [str(tiny_run / "step1_oliver" / "final.pt"), str(tiny_run / "step2_maher" / "final.pt")]
    assert main(["compare", *finals, "--titles", "after t1,after t2", "--speaker", "oliver", "--out",
                 str(tmp_path / "c.gif")]) == 0
    assert (tmp_path / "c.gif").stat().st_size > 1000
