"""Orthonormal DCT-II over time and the packing of coefficients into graph-node features (notes 2.1)."""

from __future__ import annotations

import math

import torch
from torch import nn


def dct_matrix(n: int) -> torch.Tensor:
    """(n, n) orthonormal DCT-II: row k, column i = w_k cos(pi (i + 1/2) k / n); its inverse is its transpose."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None]
    w = torch.full((n, 1), math.sqrt(2.0 / n), dtype=torch.float64)
    w[0] = math.sqrt(1.0 / n)
    return w * torch.cos(math.pi * (i + 0.5) * k / n)


class DCTCodec(nn.Module):
    """Sequences (B, T, D=3n) <-> node features (B, n, 3*dct_n) = [dct_n x-coeffs, y-coeffs, z-coeffs] per node."""

    def __init__(self, t_total: int, dct_n: int):
        super().__init__()
        m = dct_matrix(t_total).float()
        self.register_buffer("dct", m[:dct_n].clone(), persistent=False)  # (dct_n, T)
        self.register_buffer("idct", m.t()[:, :dct_n].clone(), persistent=False)  # (T, dct_n)
        self.dct_n = dct_n

    def encode(self, seq: torch.Tensor) -> torch.Tensor:
        """(B, T, 3n) -> (B, n, 3*dct_n)."""
        B, _, D = seq.shape
        coef = torch.einsum("kt,btd->bkd", self.dct, seq)  # (B, dct_n, D)
        return coef.reshape(B, self.dct_n, D // 3, 3).permute(0, 2, 3, 1).reshape(B, D // 3, 3 * self.dct_n)

    def decode(self, feat: torch.Tensor) -> torch.Tensor:
        """(B, n, 3*dct_n) -> (B, T, 3n)."""
        B, n, _ = feat.shape
        coef = feat.reshape(B, n, 3, self.dct_n).permute(0, 3, 1, 2).reshape(B, self.dct_n, n * 3)
        return torch.einsum("tk,bkd->btd", self.idct, coef)


def pad_history(his: torch.Tensor, t_total: int) -> torch.Tensor:
    """(B, t_his, D) -> (B, t_total, D) by repeating the last observed frame."""
    last = his[:, -1:].expand(-1, t_total - his.shape[1], -1)
    return torch.cat([his, last], dim=1)
