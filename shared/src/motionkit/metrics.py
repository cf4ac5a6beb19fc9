"""Pose and motion metrics that more than one package reports (numpy; scipy for the Frechet distance).

Shapes: a pose is ``(J, C)``; any leading axes are frames/samples. Distances are in the units of the input
(millimetres for Human3.6M, metres for the APO data). The diverse-prediction metrics (DLow's APD, ADE, FDE,
MMADE, MMFDE) have one batched implementation (``*_batch``, float64) that the per-input functions call; the
batched ones also take torch tensors (moved to CPU float64), so training code can pass its outputs directly.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "mpjpe", "procrustes_align", "pa_mpjpe", "apd", "ade", "fde", "mmade", "mmfde", "pairwise_l2",
    "apd_batch", "frame_errors", "ade_fde_batch", "mm_ade_fde_batch", "frechet_distance",
    "frechet_distance_from_stats",
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


def _f64(x) -> np.ndarray:
    """A numpy float64 copy of an array or a torch tensor (any device), without importing torch."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _flat_futures(pred, name: str) -> np.ndarray:
    """``(B, K, T, ...)`` -> ``(B, K, T, D)`` float64."""
    x = _f64(pred)
    if x.ndim < 3:
        raise ValueError(f"{name}: expected (B, K, T, ...) futures, got shape {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], x.shape[2], -1)


def apd_batch(pred) -> np.ndarray:
    """Average pairwise distance (DLow) per input: ``(B, K, T, ...)`` -> ``(B,)``.

    ``APD = 1 / (K (K-1)) * sum_{i != j} ||Y_i - Y_j||_2`` with each future ``Y_k`` flattened to one vector;
    0 when the K samples are identical (or K = 1).
    """
    x = _flat_futures(pred, "apd_batch")
    b, k = x.shape[:2]
    if k < 2:
        return np.zeros(b)
    flat = x.reshape(b, k, -1)
    dist = pairwise_l2(flat, flat)
    dist[:, np.arange(k), np.arange(k)] = 0.0  # exact zeros (the expansion leaves ~1e-7 rounding there)
    return dist.sum(axis=(1, 2)) / (k * (k - 1))


def frame_errors(pred, gts) -> np.ndarray:
    """``||pred_k[t] - gt_g[t]||_2`` over the whole pose vector: ``(B, K, T, D)``, ``(B, G, T, D)`` ->
    ``(B, G, K, T)``."""
    p, g = _flat_futures(pred, "frame_errors"), _flat_futures(gts, "frame_errors")
    if p.shape[2:] != g.shape[2:] or p.shape[0] != g.shape[0]:
        raise ValueError(f"frame_errors: predictions {p.shape} and ground truth {g.shape} disagree")
    sq = ((p * p).sum(-1)[:, None] + (g * g).sum(-1)[:, :, None]
          - 2.0 * np.einsum("bktd,bgtd->bgkt", p, g, optimize=True))
    return np.sqrt(np.maximum(sq, 0.0))


def ade_fde_batch(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    """Best-of-K ADE (``min_k mean_t ||.||``) and FDE (``min_k ||.||`` at the last frame) per input.

    ``pred (B, K, T, ...)``, ``gt (B, T, ...)`` -> ``(B,)``, ``(B,)``.
    """
    p = _flat_futures(pred, "ade_fde_batch")
    g = _f64(gt).reshape(p.shape[0], 1, p.shape[2], p.shape[3])
    err = np.linalg.norm(p - g, axis=-1)  # (B, K, T)
    return err.mean(-1).min(-1), err[..., -1].min(-1)


def mm_ade_fde_batch(pred, gts, mask=None) -> tuple[np.ndarray, np.ndarray]:
    """Multimodal ADE / FDE (DLow) per input: the mean over the input's group of ground-truth futures of the
    best-of-K ADE / FDE.

    ``pred (B, K, T, ...)``; ``gts (B, G, T, ...)`` padded to the largest group; ``mask (B, G)`` True for real
    members (default: all). An input whose group is empty gets NaN.
    """
    err = frame_errors(pred, gts)  # (B, G, K, T)
    ade, fde = err.mean(-1).min(-1), err[..., -1].min(-1)  # (B, G)
    m = np.ones(ade.shape) if mask is None else _f64(mask).reshape(ade.shape)
    count = m.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ade * m).sum(1) / count, (fde * m).sum(1) / count


def apd(samples: np.ndarray) -> float:
    """APD of the K futures ``(K, T, ...)`` of one input (see :func:`apd_batch`)."""
    return float(apd_batch(_f64(samples)[None])[0])


def ade(samples: np.ndarray, gt: np.ndarray) -> float:
    """Best-of-K ADE of one input: ``samples (K, T, ...)``, ``gt (T, ...)`` (see :func:`ade_fde_batch`)."""
    return float(ade_fde_batch(_f64(samples)[None], _f64(gt)[None])[0][0])


def fde(samples: np.ndarray, gt: np.ndarray) -> float:
    """Best-of-K FDE of one input (see :func:`ade_fde_batch`)."""
    return float(ade_fde_batch(_f64(samples)[None], _f64(gt)[None])[1][0])


def mmade(samples: np.ndarray, gt_group: np.ndarray) -> float:
    """Multimodal ADE of one input: ``gt_group (G, T, ...)`` are the futures of the windows whose last observed
    pose is close to this input's (see :func:`mm_ade_fde_batch`)."""
    return float(mm_ade_fde_batch(_f64(samples)[None], _f64(gt_group)[None])[0][0])


def mmfde(samples: np.ndarray, gt_group: np.ndarray) -> float:
    """Multimodal FDE of one input (see :func:`mm_ade_fde_batch`)."""
    return float(mm_ade_fde_batch(_f64(samples)[None], _f64(gt_group)[None])[1][0])


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (FID's formula):
    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2))``. When ``sqrtm`` is not finite it is retried with 1e-6
    added to both diagonals; a value that is still not finite raises a one-line ``ValueError``."""
    from scipy import linalg

    mu1, mu2 = _f64(mu1), _f64(mu2)
    s1, s2 = np.atleast_2d(_f64(sigma1)), np.atleast_2d(_f64(sigma2))
    if not all(np.isfinite(x).all() for x in (mu1, mu2, s1, s2)):
        raise ValueError("frechet_distance: not finite (the features contain NaN or inf)")
    try:
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(s1)) * 1e-6
            covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    except (ValueError, linalg.LinAlgError) as exc:
        raise ValueError(f"frechet_distance: sqrtm failed ({exc})") from None
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean.real))
    if not np.isfinite(value):
        raise ValueError("frechet_distance: not finite (features contain NaN/inf or covariances are degenerate)")
    return value


def frechet_distance(feats_a, feats_b) -> float:
    """Frechet distance between Gaussians fitted (float64, unbiased covariance) to the rows of ``feats_a (N1, F)``
    and ``feats_b (N2, F)``; each needs at least 2 rows."""
    a, b = _f64(feats_a), _f64(feats_b)
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"frechet_distance: needs at least 2 feature rows per side, got {len(a)} and {len(b)}")
    return frechet_distance_from_stats(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
