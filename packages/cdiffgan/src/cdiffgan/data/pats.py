"""Reader of the published PATS layout and the 4.3 s / 64-frame windows the models consume.

Layout under ``data_dir`` (original ``-path2data``)::

    cmu_intervals_df.csv          interval_id, speaker, dataset (train|dev|test), start_time, end_time, ...
    missing_intervals.h5          dataset "intervals": ids to skip
    processed/<speaker>/<interval_id>.h5
        pose/normalize   (T, 104) float, 15 fps, 52 joints as [x_0..x_51, y_0..y_51]
        audio/log_mel_400 (T_a, 64) float, 103 Hz
        text/tokens      (T,) or (T, 1) int, one WordPiece id per 15-fps frame
        text/meta        (optional) word, start_frame, end_frame (render captions only)

Windowing (original ``MiniData``): per modality the window is int(time * fs) samples, the stride is
``window_hop * round(fs / 15)`` (0 = non-overlapping, stride = window) and the window is subsampled by
round(fs / 15), so every modality yields 64 frames. The other csv files the original appended unconditionally
(``*_transforms.csv``, ``d2m``/``ted``) are not needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from motionkit.errors import DataFormatError, DatasetMissingError

POSE_KEY = "pose/normalize"
AUDIO_KEY = "audio/log_mel_400"
TEXT_KEY = "text/tokens"
META_KEY = "text/meta"
N_JOINTS = 52
AUDIO_FS = int(16.52 * 1000 / 160)     # 103 Hz, as the original declares it
POSE_FS = 15
CSV_COLUMNS = ("interval_id", "speaker", "dataset")


def modality_window(fs: float, time: float = 4.3, fps: int = POSE_FS, hop: int = 0) -> tuple[int, int, int]:
    """(window samples, stride samples, subsample step) of one modality. Pose: (64, hop or 64, 1);
    audio at 103 Hz: (442, 7*hop or 442, 7)."""
    win = int(time * fs)
    sub = max(int(round(fs / fps)), 1)
    stride = hop * sub if hop > 0 else win
    return win, stride, sub


def n_windows(length: int, win: int, stride: int) -> int:
    return 0 if length < win else (length - win) // stride + 1


def read_csv(data_dir: Path) -> pd.DataFrame:
    path = Path(data_dir) / "cmu_intervals_df.csv"
    if not path.exists():
        raise DatasetMissingError(f"{path}: not found (run `python -m cdiffgan.main make-synthetic` or download "
                                  "PATS, see the package README)")
    try:
        df = pd.read_csv(path, dtype={"interval_id": str, "speaker": str, "dataset": str})
    except Exception as e:  # pandas raises many kinds
        raise DataFormatError(f"{path}: unreadable CSV ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    missing = [c for c in CSV_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(f"{path}: missing column(s) {', '.join(missing)}")
    bad = sorted(set(df["dataset"].dropna()) - {"train", "dev", "test"})
    if bad or df["dataset"].isna().any():
        raise DataFormatError(f"{path}: column 'dataset' must be train/dev/test, found {bad or ['<empty>']}")
    return df


def read_missing(data_dir: Path) -> set[str]:
    path = Path(data_dir) / "missing_intervals.h5"
    if not path.exists():
        return set()
    try:
        with h5py.File(path, "r") as f:
            if "intervals" not in f:
                raise DataFormatError(f"{path}: no dataset 'intervals'")
            vals = f["intervals"][()]
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable HDF5 file ({e})") from None
    return {v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(vals)}


def read_interval(path: Path) -> dict[str, np.ndarray]:
    """Read one processed interval; malformed files raise a one-line DataFormatError naming the file."""
    path = Path(path)
    if not path.exists():
        raise DatasetMissingError(f"{path}: interval file listed in cmu_intervals_df.csv is missing")
    try:
        with h5py.File(path, "r") as f:
            out = {}
            for key in (POSE_KEY, AUDIO_KEY, TEXT_KEY):
                if key not in f:
                    raise DataFormatError(f"{path}: missing key '{key}'")
                out[key] = f[key][()]
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable HDF5 file ({str(e).splitlines()[0]})") from None
    pose, audio, tok = out[POSE_KEY], out[AUDIO_KEY], out[TEXT_KEY]
    if pose.ndim != 2 or pose.shape[1] != 2 * N_JOINTS:
        raise DataFormatError(f"{path}: '{POSE_KEY}' must be (T, 104), got {pose.shape}")
    if audio.ndim != 2 or audio.shape[1] != 64:
        raise DataFormatError(f"{path}: '{AUDIO_KEY}' must be (T_a, 64), got {audio.shape}")
    if tok.ndim == 2 and tok.shape[1] == 1:
        tok = tok[:, 0]
    if tok.ndim != 1 or len(tok) != len(pose):
        raise DataFormatError(f"{path}: '{TEXT_KEY}' must be (T,) with T={len(pose)} frames, got {tok.shape}")
    if not (np.isfinite(pose).all() and np.isfinite(audio).all()):
        raise DataFormatError(f"{path}: non-finite values in pose or audio")
    if not np.issubdtype(tok.dtype, np.integer):
        _check_ids(path, tok, np.inf)                       # whole numbers only (range: PatsData's vocab_size)
    return {"pose": pose.astype(np.float32), "audio": audio.astype(np.float32), "tokens": tok.astype(np.int64)}


def check_speaker_data(data_dir, speakers, vocab_size: int, time: float = 4.3, fps: int = POSE_FS) -> None:
    """Before a run: every token id of every listed interval of ``speakers`` (all splits, every frame, whether
    or not a training window covers it) in 0..vocab_size-1, and every speaker with at least one whole window in
    train, dev and test. Reads only ``text/tokens`` and the shapes. One line naming the file or speaker else."""
    data_dir = Path(data_dir)
    df = read_csv(data_dir)
    skip = read_missing(data_dir)
    pose_win, audio_win = modality_window(POSE_FS, time, fps)[0], modality_window(AUDIO_FS, time, fps)[0]
    for spk in speakers:
        for split in ("train", "dev", "test"):
            rows = df[(df["speaker"] == spk) & (df["dataset"] == split)]
            ids = [i for i in rows["interval_id"].astype(str) if i not in skip]
            lengths = [_token_check(data_dir / "processed" / spk / f"{iid}.h5", vocab_size) for iid in ids]
            if not any(n_pose >= pose_win and n_audio >= audio_win for n_pose, n_audio in lengths):
                raise DataFormatError(f"{data_dir}: speaker {spk} has no {split} interval of one {time} s window "
                                      f"({pose_win} pose, {audio_win} audio frames); {len(ids)} listed")


def _token_check(path: Path, vocab_size: int) -> tuple[int, int]:
    """Check the token ids of one interval file; its (pose frames, audio frames)."""
    if not path.exists():
        raise DatasetMissingError(f"{path}: interval file listed in cmu_intervals_df.csv is missing")
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in (POSE_KEY, AUDIO_KEY, TEXT_KEY) if k not in f]
            if missing:
                raise DataFormatError(f"{path}: missing key '{missing[0]}'")
            tok = f[TEXT_KEY][()]
            lengths = (f[POSE_KEY].shape[0], f[AUDIO_KEY].shape[0])
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable HDF5 file ({str(e).splitlines()[0]})") from None
    _check_ids(path, np.asarray(tok), vocab_size)
    return lengths


def _check_ids(path: Path, tokens: np.ndarray, vocab_size: int) -> None:
    whole = np.issubdtype(tokens.dtype, np.integer) or (
        np.issubdtype(tokens.dtype, np.floating) and np.isfinite(tokens).all() and (tokens == np.round(tokens)).all())
    if not whole:
        raise DataFormatError(f"{path}: '{TEXT_KEY}' must hold whole-number ids, got {tokens.dtype} values")
    if tokens.size and not 0 <= tokens.min() <= tokens.max() < vocab_size:
        raise DataFormatError(f"{path}: '{TEXT_KEY}' ids must be in 0..{vocab_size - 1}, found "
                              f"{tokens.min()}..{tokens.max()}")


def read_meta(path: Path) -> list[tuple[str, int, int]]:
    """Words with (start_frame, end_frame) from text/meta (compound dataset); [] when absent."""
    with h5py.File(path, "r") as f:
        if META_KEY not in f or not isinstance(f[META_KEY], h5py.Dataset):
            return []
        m = f[META_KEY][()]
    return [(w.decode() if isinstance(w, bytes) else str(w), int(s), int(e)) for w, s, e in m]


@dataclass
class Window:
    speaker: str
    interval_id: str
    pose_start: int
    audio_start: int


class PatsData:
    """Windows of the given speakers and split, with intervals read lazily and cached (original ``-cache 1``).

    ``item(i)`` -> dict(pose (64, 104), audio (64, 64), tokens (64,) per frame, speaker, interval_id, start).
    With ``vocab_size`` every interval's token ids are checked to lie in 0..vocab_size-1 (one line otherwise).
    Windows are ordered by speaker (in the given order), then interval, then time.
    """

    def __init__(self, data_dir, speakers, split, window_hop=0, time=4.3, fps=POSE_FS, vocab_size=None):
        self.data_dir = Path(data_dir)
        self.speakers = list(speakers)
        self.split = split
        df = read_csv(self.data_dir)
        skip = read_missing(self.data_dir)
        self.pose_win = modality_window(POSE_FS, time, fps, window_hop)
        self.audio_win = modality_window(AUDIO_FS, time, fps, window_hop)
        self._cache: dict[str, dict] = {}
        self.windows: list[Window] = []
        self.intervals: dict[str, list[str]] = {}
        for spk in self.speakers:
            rows = df[(df["speaker"] == spk) & (df["dataset"] == split)]
            ids = [i for i in rows["interval_id"].astype(str) if i not in skip]
            self.intervals[spk] = ids
            for iid in ids:
                d = self.load(spk, iid)
                if vocab_size is not None:
                    _check_ids(self.path(spk, iid), d["tokens"], vocab_size)
                n = min(n_windows(len(d["pose"]), *self.pose_win[:2]), n_windows(len(d["audio"]), *self.audio_win[:2]))
                for w in range(n):
                    self.windows.append(Window(spk, iid, w * self.pose_win[1], w * self.audio_win[1]))
        self.ranges = {}
        for spk in self.speakers:
            idx = [i for i, w in enumerate(self.windows) if w.speaker == spk]
            self.ranges[spk] = (idx[0], idx[-1] + 1) if idx else (0, 0)

    def path(self, speaker, interval_id) -> Path:
        return self.data_dir / "processed" / speaker / f"{interval_id}.h5"

    def load(self, speaker, interval_id) -> dict:
        if interval_id not in self._cache:
            self._cache[interval_id] = read_interval(self.path(speaker, interval_id))
        return self._cache[interval_id]

    def __len__(self):
        return len(self.windows)

    def item(self, i: int) -> dict:
        w = self.windows[i]
        d = self.load(w.speaker, w.interval_id)
        pw, _, ps = self.pose_win
        aw, _, asub = self.audio_win
        pose = d["pose"][w.pose_start:w.pose_start + pw:ps]
        audio = d["audio"][w.audio_start:w.audio_start + aw:asub]
        tokens = d["tokens"][w.pose_start:w.pose_start + pw:ps]
        return {"pose": pose, "audio": audio, "tokens": tokens, "speaker": w.speaker,
                "interval_id": w.interval_id, "start": w.pose_start}

    def frames(self, speaker: str) -> tuple[np.ndarray, np.ndarray]:
        """All pose frames (N, 104) and audio frames (N_a, 64) of one speaker's intervals (each frame once)."""
        poses = [self.load(speaker, i)["pose"] for i in self.intervals[speaker]]
        audios = [self.load(speaker, i)["audio"] for i in self.intervals[speaker]]
        if not poses:
            raise DatasetMissingError(f"{self.data_dir}: speaker '{speaker}' has no {self.split} intervals")
        return np.concatenate(poses), np.concatenate(audios)


def collapse_tokens(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ids (T,) -> (ids (L,), durations (L,)) with consecutive equal ids merged (``-repeat_text 0``)."""
    change = np.flatnonzero(np.diff(tokens)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(tokens)]])
    return tokens[starts], ends - starts
