"""Pose metrics that more than one package reports (numpy only).

Shapes: a pose is ``(J, C)``; any leading axes are frames/samples. Distances are in the units of the input
(millimetres for Human3.6M, metres for the APO data).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "mpjpe", "procrustes_align", "pa_mpjpe", "apd", "ade", "fde", "mmade", "mmfde", "pairwise_l2",
]


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error: mean over all leading axes and joints of ``||pred_j - gt_j||_2``.

    ``pred``, ``gt``: ``(..., J, C)``. No alignment is done; subtract the root first for root-relative MPJPE.
    """
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"mpjpe: shapes differ, {pred.shape} vs {gt.shape}")
    return float(np.linalg.norm(pred - gt, axis=-1).mean())


def procrustes_align(
    pred: np.ndarray, gt: np.ndarray, scaling: bool = True, reflection: bool = False
) -> np.ndarray:
    """Align each ``pred`` pose to its ``gt`` pose by the similarity transform minimising squared error.

    Solves ``min_{s,R,t} sum_j ||s R pred_j + t - gt_j||^2`` per pose (Umeyama 1991 / orthogonal Procrustes):
    with centred ``X = pred - mean``, ``Y = gt - mean`` and ``U S V^T = svd(X^T Y)``, ``R = (U D V^T)^T`` where
    ``D = diag(1, ..., sign(det(U V^T)))`` forbids reflections (``reflection=False``) or ``D = I`` allows them;
    ``s = trace(S D) / ||X||^2`` when ``scaling`` else 1.

    Args:
        pred, gt: ``(..., J, C)``; each leading index is aligned independently.
    Returns:
        the aligned prediction, ``(..., J, C)``.
    """
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"procrustes_align: shapes differ, {pred.shape} vs {gt.shape}")
    mu_p, mu_g = pred.mean(axis=-2, keepdims=True), gt.mean(axis=-2, keepdims=True)
    x, y = pred - mu_p, gt - mu_g
    u, s, vt = np.linalg.svd(np.swapaxes(x, -1, -2) @ y)
    d = np.ones(s.shape)
    if not reflection:
        d[..., -1] = np.sign(np.linalg.det(u @ vt))
        d[d == 0] = 1.0
    rot = u @ (d[..., :, None] * vt)  # x @ rot maps pred onto gt
    if scaling:
        norm_x = (x**2).sum(axis=(-1, -2))
        scale = (s * d).sum(axis=-1) / np.where(norm_x > 0, norm_x, 1.0)
    else:
        scale = np.ones(pred.shape[:-2])
    return scale[..., None, None] * (x @ rot) + mu_g


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray, reflection: bool = False, scaling: bool = True) -> float:
    """Procrustes-aligned MPJPE: :func:`mpjpe` after :func:`procrustes_align` of every pose.

    The standard protocol (Human3.6M "protocol 2") forbids reflections; APO's original code allowed them
    (``reflection=True``), which can only lower the error.
    """
    return mpjpe(procrustes_align(pred, gt, scaling=scaling, reflection=reflection), gt)


def pairwise_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All Euclidean distances between rows: ``a (..., N, D)``, ``b (..., M, D)`` -> ``(..., N, M)``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    sq = (a**2).sum(-1)[..., :, None] + (b**2).sum(-1)[..., None, :] - 2.0 * a @ np.swapaxes(b, -1, -2)
    return np.sqrt(np.maximum(sq, 0.0))


def _as_samples(samples: np.ndarray, gt: np.ndarray | None = None) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim < 2:
        raise ValueError(f"samples must be (K, T, ...) , got shape {samples.shape}")
    if gt is not None and samples.shape[1:] != np.asarray(gt).shape[-(samples.ndim - 1):]:
        raise ValueError(f"samples {samples.shape} and ground truth {np.asarray(gt).shape} disagree")
    return samples.reshape(samples.shape[0], samples.shape[1], -1)  # (K, T, D)


def apd(samples: np.ndarray) -> float:
    """Average pairwise distance (DLow): diversity of K predicted futures of one input.

    ``APD = 1 / (K (K-1)) * sum_{i != j} ||Y_i - Y_j||_2`` with each ``Y_k`` the whole future flattened to one
    vector. ``samples``: ``(K, T, ...)``. 0 when all samples are identical (or K = 1).
    """
    s = _as_samples(samples)
    k = s.shape[0]
    if k < 2:
        return 0.0
    flat = s.reshape(k, -1)
    d = pairwise_l2(flat, flat)
    return float(d.sum() / (k * (k - 1)))


def _per_frame_errors(samples: np.ndarray, gt: np.ndarray) -> np.ndarray:
    s = _as_samples(samples)
    g = np.asarray(gt, dtype=np.float64).reshape(-1, s.shape[1], s.shape[2])  # (G, T, D)
    return np.linalg.norm(s[None] - g[:, None], axis=-1)  # (G, K, T): L2 over the whole pose vector per frame


def ade(samples: np.ndarray, gt: np.ndarray) -> float:
    """Average displacement error (DLow): ``min_k mean_t ||Y_k[t] - Y[t]||_2``, L2 over the whole pose vector.

    ``samples``: ``(K, T, ...)``; ``gt``: ``(T, ...)``.
    """
    return float(_per_frame_errors(samples, gt)[0].mean(axis=-1).min())


def fde(samples: np.ndarray, gt: np.ndarray) -> float:
    """Final displacement error (DLow): ``min_k ||Y_k[T-1] - Y[T-1]||_2``."""
    return float(_per_frame_errors(samples, gt)[0][:, -1].min())


def mmade(samples: np.ndarray, gt_group: np.ndarray) -> float:
    """Multimodal ADE (DLow): the mean over the G ground-truth futures of the group of ``min_k ADE``.

    ``gt_group``: ``(G, T, ...)``: futures of the training/test windows whose last observed pose is close to this
    input's (the multimodal ground truth).
    """
    return float(_per_frame_errors(samples, gt_group).mean(axis=-1).min(axis=1).mean())


def mmfde(samples: np.ndarray, gt_group: np.ndarray) -> float:
    """Multimodal FDE (DLow): the mean over the group of ``min_k FDE``."""
    return float(_per_frame_errors(samples, gt_group)[..., -1].min(axis=1).mean())
