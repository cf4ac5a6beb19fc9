"""Z-normalisation statistics, the k-means pose clusters, and batch assembly.

Both statistics are computed by our code from the source speaker's train split and cached beside the data:

    <data_dir>/preprocessing/muvar/<key>.h5    pose/normalize/{mean,var} (1,1,104), audio/log_mel_400/{mean,var}
    <data_dir>/preprocessing/kmeans/<key>.h5   centers/<K>_pose_velocity_speed_0_7_8_9_pose_normalize  (K, 240)

key = '_'.join(source speakers). Every later step normalises all speakers with the source speaker's statistics,
as the original does. The cache stores a fingerprint of the frames it was computed from and is recomputed when the
data changed, or when the file is damaged or foreign (checked on every read: readable, sizes, finite values). It
is written atomically by the command that needs it (a hidden temp file renamed over it), so two runs sharing a
data folder never read a half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import torch

from motionkit.tempfiles import remove_stale_temporaries

from .cachefiles import write_failure
from .pats import AUDIO_KEY, N_JOINTS, POSE_KEY, PatsData, collapse_tokens


def kept_joints(mask) -> list[int]:
    return [j for j in range(N_JOINTS) if j not in set(mask)]


def pose_feature_index(mask) -> np.ndarray:
    """Indices into the 104-d [x_0..x_51, y_0..y_51] vector of the kept joints: [x_kept..., y_kept...] (96)."""
    k = kept_joints(mask)
    return np.array(k + [N_JOINTS + j for j in k])


def kmeans_features(pose96: np.ndarray) -> np.ndarray:
    """Per-frame k-means features of un-normalised masked poses (..., T, 96) -> (..., T, 240):
    [pose (96), velocity (96, first frame 0), speed (48, per-joint |velocity|)]."""
    vel = np.diff(pose96, axis=-2, prepend=pose96[..., :1, :])
    J = pose96.shape[-1] // 2
    speed = np.sqrt(vel[..., :J] ** 2 + vel[..., J:] ** 2)
    return np.concatenate([pose96, vel, speed], -1)


def _fingerprint(data: PatsData, speakers) -> str:
    return ";".join(f"{s}:{','.join(data.intervals[s])}" for s in speakers)


def _read_cache(path: Path, fingerprint: str, names: list[str], sizes: list[int], log) -> list | None:
    """The datasets ``names`` of a cache file computed from the data of ``fingerprint``; None (recompute) when
    the file is absent, of other data, or unusable: not HDF5, a dataset missing, of another size or non-finite
    (a damaged or foreign file is logged and rewritten, never used)."""
    if not path.exists():
        return None
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("fingerprint") != fingerprint or not all(n in f for n in names):
                return None
            values = [np.asarray(f[n][()], np.float32) for n in names]
    except (OSError, KeyError, TypeError, ValueError) as e:
        log(f"{path}: unreadable cache ({type(e).__name__}); recomputing it")
        return None
    if [v.size for v in values] != sizes or not all(np.isfinite(v).all() for v in values):
        log(f"{path}: cache of the wrong shape or with non-finite values; recomputing it")
        return None
    return values


def _write_cache(path: Path, fingerprint: str, datasets: dict) -> None:
    """Write ``datasets`` atomically (hidden temp file in the same folder, renamed over ``path``); temp files of
    writers that were killed are removed first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["fingerprint"] = fingerprint
            for name, value in datasets.items():
                f[name] = value
        tmp.replace(path)
    except OSError as e:                                  # disk full, quota, read-only data folder
        from motionkit.errors import MotionzooError
        reason = write_failure(e)
        raise MotionzooError(f"{path}: cannot write the statistics cache ({reason}; is the disk full or the data "
                             "folder read-only?)") from None
    finally:
        tmp.unlink(missing_ok=True)


class Preprocessor:
    """Holds the ZNorm statistics and k-means centres; turns reader items into model batches."""

    def __init__(self, pose_mean, pose_var, audio_mean, audio_var, centers, mask):
        self.pose_mean = np.asarray(pose_mean, np.float32).reshape(-1)
        self.pose_std = np.sqrt(np.asarray(pose_var, np.float32).reshape(-1))
        self.pose_std[self.pose_std == 0] = 1e-8
        self.audio_mean = np.asarray(audio_mean, np.float32).reshape(-1)
        self.audio_std = np.sqrt(np.asarray(audio_var, np.float32).reshape(-1))
        self.audio_std[self.audio_std == 0] = 1e-8
        self.centers = np.asarray(centers, np.float32)
        self.mask = list(mask)
        self.idx = pose_feature_index(mask)

    # --- caching ---
    @classmethod
    def build(cls, data_dir, source_speakers, window_hop=0, num_clusters=8, mask=(0, 7, 8, 9),
              log=print) -> Preprocessor:
        """Load the cached statistics or compute them (k-means with a fixed random_state 0, so the cache never
        depends on who built it first)."""
        data_dir = Path(data_dir)
        key = "_".join(source_speakers)
        mu_path = data_dir / "preprocessing" / "muvar" / f"{key}.h5"
        km_path = data_dir / "preprocessing" / "kmeans" / f"{key}.h5"
        ds_name = f"centers/{num_clusters}_pose_velocity_speed_{'_'.join(map(str, mask))}_pose_normalize"
        train = PatsData(data_dir, source_speakers, "train", window_hop)
        fp = _fingerprint(train, source_speakers)
        for path in (mu_path, km_path):           # temp files of killed writers (class 7 leftovers)
            if path.parent.is_dir():
                remove_stale_temporaries(path)
        keys = [(k, m) for k in (POSE_KEY, AUDIO_KEY) for m in ("mean", "var")]
        stats = _read_cache(mu_path, fp, [f"{k}/{m}" for k, m in keys], [104, 104, 64, 64], log)
        if stats is None:
            log(f"computing z-norm statistics -> {mu_path}")
            poses, audios = zip(*(train.frames(s) for s in source_speakers))
            P, A = np.concatenate(poses).astype(np.float64), np.concatenate(audios).astype(np.float64)
            stats = [P.mean(0)[None, None], P.var(0)[None, None], A.mean(0)[None, None], A.var(0)[None, None]]
            _write_cache(mu_path, fp, {f"{k}/{m}": v.astype(np.float32) for (k, m), v in zip(keys, stats)})
        found = _read_cache(km_path, fp, [ds_name], [num_clusters * 240], log)
        centers = None if found is None else found[0].reshape(num_clusters, 240)
        if centers is None:
            from sklearn.cluster import MiniBatchKMeans
            log(f"computing {num_clusters}-centre k-means -> {km_path}")
            idx = pose_feature_index(mask)
            feats = []
            for s in source_speakers:
                for iid in train.intervals[s]:
                    feats.append(kmeans_features(train.load(s, iid)["pose"][:, idx]))
            X = np.concatenate(feats).astype(np.float64)
            if len(X) < num_clusters:
                from motionkit.errors import ConfigError
                raise ConfigError(f"num_clusters {num_clusters}: the source speaker(s) {', '.join(source_speakers)} "
                                  f"have {len(X)} training frames, fewer than the k-means centres asked for")
            km = MiniBatchKMeans(num_clusters, random_state=0, n_init=3, batch_size=1024).fit(X)
            centers = km.cluster_centers_.astype(np.float32)
            _write_cache(km_path, fp, {ds_name: centers})
        return cls(stats[0], stats[1], stats[2], stats[3], centers, mask)

    def state(self) -> dict:
        """Everything needed to rebuild the preprocessor (stored in each self-contained checkpoint)."""
        return {"pose_mean": self.pose_mean, "pose_var": self.pose_std ** 2, "audio_mean": self.audio_mean,
                "audio_var": self.audio_std ** 2, "centers": self.centers, "mask": self.mask}

    @classmethod
    def from_state(cls, s: dict) -> Preprocessor:
        return cls(s["pose_mean"], s["pose_var"], s["audio_mean"], s["audio_var"], s["centers"], s["mask"])

    # --- transforms ---
    def labels(self, pose96_raw: np.ndarray) -> np.ndarray:
        """Nearest k-means centre (squared L2) per frame of un-normalised masked poses (..., T, 96) -> (..., T)."""
        f = kmeans_features(pose96_raw)
        d = ((f[..., None, :] - self.centers) ** 2).sum(-1)
        return d.argmin(-1)

    def norm_pose(self, pose104):
        return ((pose104 - self.pose_mean) / self.pose_std)[..., self.idx]

    def denorm_pose96(self, z96):
        """z-normalised (..., 96) -> un-normalised pose features (..., 96)."""
        if isinstance(z96, torch.Tensor):
            z96 = z96.detach().float().cpu().numpy()
        return z96 * self.pose_std[self.idx] + self.pose_mean[self.idx]

    def make_batch(self, items: list[dict], style_ids, device="cpu") -> dict:
        """Reader items -> tensors: pose (B,64,96) z-normalised & masked, audio (B,1,64,64) z-normalised,
        tokens (B,L) long, durations (B,L), counts (B,), style (B,) long, labels (B,64) k-means labels of the
        raw pose, raw (B,64,96) un-normalised masked pose."""
        raw = np.stack([it["pose"] for it in items])
        raw96 = raw[..., self.idx]
        audio = (np.stack([it["audio"] for it in items]) - self.audio_mean) / self.audio_std
        toks, durs = zip(*(collapse_tokens(it["tokens"]) for it in items))
        L = max(len(t) for t in toks)
        tokens = np.zeros((len(items), L), np.int64)
        durations = np.zeros((len(items), L), np.int64)
        for b, (t, d) in enumerate(zip(toks, durs)):
            tokens[b, : len(t)] = t
            durations[b, : len(d)] = d
        t = torch.as_tensor
        return {
            "pose": t(self.norm_pose(raw).astype(np.float32), device=device),
            "audio": t(audio.astype(np.float32), device=device)[:, None],
            "tokens": t(tokens, device=device), "durations": t(durations, device=device),
            "counts": t(np.array([len(x) for x in toks]), device=device),
            "style": t(np.asarray(style_ids, np.int64), device=device),
            "labels": t(self.labels(raw96).astype(np.int64), device=device),
            "raw": t(raw96.astype(np.float32), device=device),
        }


def select(batch: dict, rows) -> dict:
    """Rows of a batch (index tensor or slice)."""
    return {k: v[rows] for k, v in batch.items()}


def concat(batches: list[dict]) -> dict:
    """Concatenate batches row-wise, padding the token axis."""
    L = max(b["tokens"].shape[1] for b in batches)
    out = {}
    for k in batches[0]:
        vs = [b[k] for b in batches]
        if k in ("tokens", "durations"):
            vs = [torch.nn.functional.pad(v, (0, L - v.shape[1])) for v in vs]
        out[k] = torch.cat(vs, 0)
    return out
