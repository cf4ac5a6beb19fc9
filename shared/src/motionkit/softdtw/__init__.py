"""Soft-DTW for PyTorch on CPU (Numba, parallel over pairs) and CUDA (Numba CUDA, no length limit).

Public API::

    soft_dtw(x (B,N,D), y (B,M,D), gamma=1.0, bandwidth=None, normalize=False, dist="sqeuclidean",
             x_lengths=None, y_lengths=None) -> (B,)
    soft_dtw_from_cost(cost (B,N,M), gamma=1.0, bandwidth=None, x_lengths=None, y_lengths=None) -> (B,)
    pairwise_soft_dtw(x (B1,N,D), y (B2,M,D), gamma, bandwidth, normalize, dist, x_lengths, y_lengths,
                      mask=None (B1,B2) bool) -> (B1,B2)   (+inf where mask is False)
    SoftDTW(gamma, bandwidth, normalize, dist)  nn.Module, forward(x, y) -> (B,)
    hausdorff(x, y, x_lengths=None, y_lengths=None, average=False) -> (B,);  average_hausdorff(...)
    hausdorff_from_distances(d (...,N,M), x_mask=None, y_mask=None, average=False) -> (...)

All soft-DTW functions are differentiable once; double backward is not supported (raises RuntimeError).
Inputs must be finite (NaN/inf raise ValueError). How it works: ``cpu.py`` module docstring.
"""

from .api import SoftDTW, pairwise_soft_dtw, soft_dtw, soft_dtw_from_cost
from .hausdorff import average_hausdorff, hausdorff, hausdorff_from_distances

__all__ = [
    "SoftDTW",
    "average_hausdorff",
    "hausdorff",
    "hausdorff_from_distances",
    "pairwise_soft_dtw",
    "soft_dtw",
    "soft_dtw_from_cost",
]
