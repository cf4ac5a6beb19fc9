"""Featurizer for a user's own recordings: audio (wav/mp3) -> ``audio/log_mel_400``; optional transcript -> tokens.

log_mel_400 exactly as PATS: 16 kHz mono, STFT n_fft 512, window 400, hop 160, center=False, magnitude (power 1),
64 mel bands 125-7500 Hz, no mel normalisation, log(max(S, 1e-6)). Frame rate int(16.52 * 1000 / 160) = 103 Hz as
the original declares it (the true rate is 100 Hz; kept for compatibility with PATS windows).

Transcript: a CSV with columns word,start,end (seconds). Without the BERT tokenizer installed, a word's id is a
stable hash into the WordPiece id range (a learned-embedding model only needs consistent ids).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from .pats import POSE_FS

SR, N_FFT, WIN, HOP, N_MELS, FMIN, FMAX = 16000, 512, 400, 160, 64, 125.0, 7500.0


def _librosa():
    try:
        import librosa
    except ImportError:
        from motionkit.errors import ConfigError
        raise ConfigError("featurize needs librosa: pip install 'cdiffgan[audio]'") from None
    return librosa


def log_mel_400(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """Waveform (N,) at `sr` -> (T_a, 64) float32 log-mel features with the PATS parameters."""
    librosa = _librosa()
    if sr != SR:
        y = librosa.resample(y, orig_sr=sr, target_sr=SR)
    S = librosa.feature.melspectrogram(y=y.astype(np.float32), sr=SR, n_fft=N_FFT, hop_length=HOP, win_length=WIN,
                                       center=False, power=1.0, n_mels=N_MELS, fmin=FMIN, fmax=FMAX, norm=None)
    return np.log(np.maximum(S, 1e-6)).T.astype(np.float32)


def load_audio(path) -> np.ndarray:
    path = Path(path)
    if not path.exists():
        from motionkit.errors import DatasetMissingError
        raise DatasetMissingError(f"{path}: audio file not found")
    librosa = _librosa()
    try:
        y, _ = librosa.load(str(path), sr=SR, mono=True)
    except Exception as e:
        from motionkit.errors import DataFormatError
        raise DataFormatError(f"{path}: cannot decode audio ({type(e).__name__})") from None
    return y


def word_id(word: str, vocab_size: int = 30522) -> int:
    return 1000 + zlib.crc32(word.lower().encode()) % (vocab_size - 1000)


def tokens_from_transcript(path, n_frames: int, vocab_size: int = 30522):
    """Per-frame token ids (n_frames,) and words [(word, start_frame, end_frame)]; id 100 ([UNK]) in silences."""
    import pandas as pd
    path = Path(path)
    try:
        df = pd.read_csv(path)
        words = list(zip(df["word"].astype(str), df["start"].astype(float), df["end"].astype(float)))
    except Exception as e:
        from motionkit.errors import DataFormatError
        raise DataFormatError(f"{path}: transcript must be a CSV with columns word,start,end ({type(e).__name__})") \
            from None
    bad = [(w, s, e) for w, s, e in words if not (np.isfinite(s) and np.isfinite(e) and 0 <= s <= e)]
    if bad:
        from motionkit.errors import DataFormatError
        w, s, e = bad[0]
        raise DataFormatError(f"{path}: word {w!r} has start={s}, end={e}; times must be finite seconds with "
                              "0 <= start <= end")
    tok = np.full(n_frames, 100, np.int64)
    meta = []
    for w, s, e in words:
        a, b = int(round(s * POSE_FS)), max(int(round(e * POSE_FS)), int(round(s * POSE_FS)) + 1)
        tok[a:b] = word_id(w, vocab_size)
        meta.append((w, a, min(b, n_frames)))
    return tok, meta


def featurize(audio_path, out_path, transcript=None, vocab_size=30522) -> Path:
    """Write an interval h5 with audio/log_mel_400 and text/tokens (+ text/meta) for `generate`."""
    import h5py

    mel = log_mel_400(load_audio(audio_path))
    n_frames = int(len(mel) / 103 * POSE_FS)
    if transcript:
        tok, meta = tokens_from_transcript(transcript, n_frames, vocab_size)
    else:
        tok, meta = np.full(n_frames, 100, np.int64), []
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(out_path, "w") as f:
        f["audio/log_mel_400"] = mel
        f["text/tokens"] = tok
        if meta:
            dt = np.dtype([("Word", "S32"), ("start_frame", "i8"), ("end_frame", "i8")])
            f["text/meta"] = np.array([(w.encode()[:32], s, e) for w, s, e in meta], dtype=dt)
    return out_path
