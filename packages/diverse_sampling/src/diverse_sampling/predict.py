"""``predict``: K futures of a user's own observed poses, from our checkpoint or the authors' released one.

Input: an ``.npy`` file, or an ``.npz`` holding one array (or one called ``history``), of T >= t_his frames in the
data set's skeleton: ``(T, J, 3)`` with J the file's joints (32 for H36M, 15 for HumanEva), the 17 kept joints
(root first) or the 16 root-relative nodes, or ``(T, 3 n)`` nodes flattened; in metres or millimetres
(``--units``). The last t_his frames are the history. Output: ``futures.npz`` with ``futures`` (K, t_pred, n+1, 3)
and ``history`` (t_his, n+1, 3) root-relative in metres (root at the origin, the kept-joint order), ``parents``
and ``fps``; plus ``futures_overlay.png`` / ``futures.gif``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from diverse_sampling import compat, paths
from diverse_sampling.config import Config
from diverse_sampling.data.dataset import check_skeleton
from diverse_sampling.data.io import write_atomic
from diverse_sampling.data.layout import DatasetLayout, get_layout
from diverse_sampling.models import check_cvae_pairing, checkpoint_kind, load_cvae, load_sampler, sample_futures
from diverse_sampling.render import render_futures, with_root
from motionkit.errors import DataFormatError
from motionkit.training.device import resolve_device

UNITS = {"m": 1.0, "mm": 1e-3}


def read_history(path: str | Path, layout: DatasetLayout, t_his: int, units: str = "m") -> np.ndarray:
    """The last ``t_his`` frames of the file as root-relative nodes (t_his, 3 n) in metres."""
    path = Path(path)
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                key = "history" if "history" in keys else (keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise DataFormatError(f"{path}: holds {keys}; name the array 'history' or store only one")
                arr = z[key]
        else:
            arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty or cut .npy
        raise DataFormatError(f"{path}: not a readable .npy/.npz array ({exc or type(exc).__name__})") from None
    if arr.dtype.kind not in "iuf":  # strings, booleans, complex numbers: not positions
        raise DataFormatError(f"{path}: holds {arr.dtype} values; expected real-valued positions")
    arr = np.asarray(arr, dtype=np.float64) * UNITS[units]
    n = layout.n_nodes
    if arr.ndim == 2 and arr.shape[1] == 3 * n:
        arr = arr.reshape(len(arr), n, 3)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[1] not in (layout.n_file_joints, n + 1, n):
        raise DataFormatError(f"{path}: shape {arr.shape}; expected (T, J, 3) with J = {layout.n_file_joints}, "
                              f"{n + 1} or {n} joints of {layout.name}, or (T, {3 * n})")
    if len(arr) < t_his:
        raise DataFormatError(f"{path}: {len(arr)} frames, the model observes t_his = {t_his}")
    if not np.isfinite(arr).all():
        raise DataFormatError(f"{path}: contains NaN or inf")
    arr = arr[-t_his:]
    if arr.shape[1] == layout.n_file_joints and layout.n_file_joints != n + 1:
        arr = arr[:, list(layout.joints_used)]
    if arr.shape[1] == n + 1:
        arr = arr[:, 1:] - arr[:, :1]
    # all-zero or collapsed poses, or millimetres read as metres: no skeleton
    check_skeleton(arr, layout, f"{path} (read in --units {units})", units_hint="then pass --units mm")
    return arr.reshape(t_his, 3 * n).astype(np.float32)


def predict(cfg: Config, model_path: str | Path, history_path: str | Path, out_dir: str | Path,
            units: str = "m", render_outputs: bool = True) -> Path:
    """Write ``futures.npz`` (and renders) for the history in ``history_path``; returns the npz path."""
    layout = get_layout(cfg.dataset)
    his = read_history(history_path, layout, cfg.t_his, units)
    device = resolve_device(cfg.device)
    if checkpoint_kind(model_path) == "cvae":
        cvae, sampler = load_cvae(model_path, cfg, device), None
    else:
        original = compat.is_original(compat.read_pth(model_path))
        t1_path = paths.t1_checkpoint(cfg, beside=model_path if original else None)
        cvae = load_cvae(t1_path, cfg, device)
        check_cvae_pairing(model_path, cvae, t1_path)
        sampler = load_sampler(model_path, cfg, device)
    torch.manual_seed(cfg.seed)
    fut = sample_futures(cvae, sampler, torch.from_numpy(his)[None].to(device), cfg.nk, cfg.share_eps_eval)
    fut = fut[0].float().cpu().numpy()  # (K, t_pred, D)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "futures.npz"
    arrays = {"futures": with_root(fut), "history": with_root(his), "parents": np.asarray(layout.parents),
              "fps": layout.fps}
    write_atomic(out, lambda f: np.savez(f, **arrays))
    if render_outputs:
        ref = np.concatenate([his, np.repeat(his[-1:], cfg.t_pred, 0)])
        seqs = np.concatenate([np.repeat(his[None], len(fut), 0), fut], axis=1)
        render_futures(cfg.dataset, seqs, ref, out_dir, f"{cfg.exp_name}: your history", cfg.render_samples,
                       reference_name="history")
    return out
