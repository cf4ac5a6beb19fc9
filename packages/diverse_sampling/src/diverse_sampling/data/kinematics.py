"""Bones, bone lengths, retargeting and the GSPS valid-angle cosines.

Poses here are in the node layout: ``(..., n_nodes, 3)``, root-relative with the root dropped (the root is the
origin). ``parents[j]`` is the parent node of node j, ``-1`` for nodes attached to the root. In both layouts a
parent always comes before its children.
"""

from __future__ import annotations

import numpy as np
import torch


def bones(pos, parents: np.ndarray):
    """Bone vectors child - parent, ``(..., n, 3)``; works for numpy arrays and torch tensors."""
    idx = np.maximum(parents, 0)
    mask = (parents >= 0).astype(np.float32)[:, None]
    if isinstance(pos, torch.Tensor):
        idx = torch.as_tensor(idx, device=pos.device)
        mask = torch.as_tensor(mask, dtype=pos.dtype, device=pos.device)
    par = pos[..., idx, :]
    return pos - par * mask


def bone_lengths(pos, parents: np.ndarray):
    """Bone lengths ``(..., n)``."""
    b = bones(pos, parents)
    return b.norm(dim=-1) if isinstance(b, torch.Tensor) else np.linalg.norm(b, axis=-1)


def bone_directions(pos: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Unit bone vectors ``(..., n, 3)`` (the candidate-pool storage format, notes 1.3b)."""
    b = bones(pos, parents)
    return b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-8)


def from_directions(dirs: np.ndarray, lengths: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Positions from unit bone directions ``(..., n, 3)`` and lengths broadcastable to ``(..., n)``.

    Forward accumulation from a root at the origin.
    """
    vec = dirs * np.asarray(lengths)[..., None]
    return np.matmul(ancestor_matrix(parents).astype(vec.dtype), vec)


def ancestor_matrix(parents: np.ndarray) -> np.ndarray:
    """(n, n) with A[j, k] = 1 when bone k lies on the chain from the root to node j (k == j included), so that
    positions = A @ bone vectors."""
    n = len(parents)
    A = np.zeros((n, n))
    for j in range(n):
        k = j
        while k >= 0:
            A[j, k] = 1.0
            k = parents[k]
    return A


def retarget(pos: np.ndarray, lengths: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Give ``pos`` (..., n, 3) the bone ``lengths`` (..., n) while keeping every bone's direction."""
    return from_directions(bone_directions(pos, parents), lengths, parents)


# ------------------------------------------------------------------------------------------------------------
# GSPS valid-angle cosines (notes 1.4). p: (..., n, 3) torch tensor, node layout.


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-8)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.linalg.cross(a, b, dim=-1)


def h36m_angles(p: torch.Tensor) -> dict[str, torch.Tensor]:
    """The 13 H36M angle cosines, each flattened to 1-D (left and right parts concatenated)."""
    P = [p[..., j, :] for j in range(p.shape[-2])]
    cat = lambda *xs: torch.cat([x.reshape(-1) for x in xs])  # noqa: E731
    out = {
        "Spine2Hip": cat(_cos(P[3], P[6]), _cos(P[0], P[6])),
        "Leg2HipPlane": cat(
            _cos(_cross(P[3], P[4] - P[3]), P[5] - P[4]), _cos(_cross(P[1] - P[0], P[0]), P[2] - P[1])
        ),
        "Shoulder2Hip": cat(_cos(P[10] - P[7], P[3]), _cos(P[13] - P[7], P[0])),
    }
    n = _cross(P[13], P[10])
    out["Leg2ShoulderPlane"] = cat(_cos(n, P[4]), _cos(n, P[1]))
    out["Shoulder2Shoulder"] = cat(_cos(P[13] - P[7], P[10] - P[7]))
    out["Neck2Spine"] = cat(_cos(P[7] - P[6], P[6]))
    n0l = _cross(P[4] - P[3], P[3])
    dir_l, val_l = _cos(P[3], _cross(P[6], n0l)), _cos(n0l, P[6])
    n0r = _cross(P[0], P[1] - P[0])
    dir_r, val_r = _cos(P[0], _cross(n0r, P[6])), _cos(n0r, P[6])
    dirs, vals = cat(dir_l, dir_r), cat(val_l, val_r)
    out["Spine2HipPlane1"] = vals[dirs < 0]
    out["Spine2HipPlane2"] = vals[dirs >= 0]
    out["ShoulderPlane2HipPlane"] = cat(_cos(_cross(P[7] - P[0], P[7] - P[3]), _cross(P[10], P[13])))
    out["Head2Neck"] = cat(_cos(P[7] - P[6], P[8] - P[7]))
    out["Head2HeadTop"] = cat(_cos(P[9] - P[8], P[8] - P[7]))
    n0 = _cross(P[9] - P[8], P[8] - P[7])
    n1 = _cross(n0, P[9] - P[7])
    n2 = _cross(P[7] - P[0], P[7] - P[3])
    out["HeadVerticalPlane2HipPlane"] = cat(_cos(n1, n2))
    out["Shoulder2Neck"] = cat(_cos(P[10] - P[7], P[6] - P[7]), _cos(P[13] - P[7], P[6] - P[7]))
    return out


def humaneva_angles(p: torch.Tensor) -> dict[str, torch.Tensor]:
    """The 9 HumanEva angle cosines, each flattened to 1-D."""
    P = [p[..., j, :] for j in range(p.shape[-2])]
    cat = lambda *xs: torch.cat([x.reshape(-1) for x in xs])  # noqa: E731
    n = _cross(P[7], P[10])
    return {
        "LHip2RHip": cat(_cos(P[7], P[10])),
        "Neck2HipPlane": cat(_cos(n, P[0])),
        "Head2Neck": cat(_cos(P[13] - P[0], P[0])),
        "Shoulder2Shoulder": cat(_cos(P[1] - P[0], P[4] - P[0])),
        "ShoulderPlane2HipPlane": cat(_cos(_cross(P[7] - P[0], P[10] - P[0]), _cross(P[1], P[4]))),
        "Shoulder2Neck": cat(_cos(P[1] - P[0], P[0]), _cos(P[4] - P[0], P[0])),
        "Leg2HipPlane": cat(_cos(n, P[8] - P[7]), _cos(n, P[11] - P[10])),
        "Foot2LegPlane": cat(
            _cos(_cross(P[7] - P[10], P[11] - P[10]), P[12] - P[11]),
            _cos(_cross(P[7] - P[10], P[8] - P[7]), P[9] - P[8]),
        ),
        "ForeArm2ShoulderPlane": cat(
            _cos(_cross(P[4] - P[0], P[5] - P[4]), P[6] - P[5]),
            _cos(_cross(P[2] - P[1], P[1] - P[0]), P[3] - P[2]),
        ),
    }


ANGLE_FUNCTIONS = {"h36m": h36m_angles, "humaneva": humaneva_angles}


def valid_angle_bounds(dataset: str, poses: np.ndarray, chunk: int = 20000) -> dict[str, list[float]]:
    """Per-angle [min cos, max cos] over all ``poses`` (N, n, 3): how GSPS built its valid-angle file."""
    fn = ANGLE_FUNCTIONS[dataset]
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for s in range(0, len(poses), chunk):
        with torch.no_grad():
            cos = fn(torch.from_numpy(np.asarray(poses[s : s + chunk], dtype=np.float64)))
        for name, v in cos.items():
            if v.numel():
                lo[name] = min(lo.get(name, 1.0), float(v.min()))
                hi[name] = max(hi.get(name, -1.0), float(v.max()))
    return {name: [lo[name], hi[name]] for name in lo}
