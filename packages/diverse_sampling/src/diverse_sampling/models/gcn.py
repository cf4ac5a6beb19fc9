"""Graph convolutions with a learnable dense node-mixing matrix (notes 2.2)."""

from __future__ import annotations

import math

import torch
from torch import nn


class GraphConv(nn.Module):
    """Y = att @ (X W) + b.  X: (B, n, in_len) -> Y: (B, n, out_len); att: learnable dense (n, n)."""

    def __init__(self, in_len: int, out_len: int, n_nodes: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_len, out_len))
        self.att = nn.Parameter(torch.empty(n_nodes, n_nodes))
        self.bias = nn.Parameter(torch.empty(out_len))
        bound = 1.0 / math.sqrt(out_len)
        for p in (self.weight, self.att, self.bias):
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.att, torch.matmul(x, self.weight)) + self.bias


class GraphConvBlock(nn.Module):
    """GraphConv -> BatchNorm1d over the flattened n*out_len features -> Tanh -> dropout (-> + x if residual)."""

    def __init__(self, in_len: int, out_len: int, n_nodes: int, dropout: float = 0.0, residual: bool = False):
        super().__init__()
        assert not residual or in_len == out_len
        self.gc = GraphConv(in_len, out_len, n_nodes)
        self.bn = nn.BatchNorm1d(n_nodes * out_len)
        self.act = nn.Tanh()
        self.drop = nn.Dropout(dropout)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, n, _ = x.shape
        y = self.gc(x)
        y = self.drop(self.act(self.bn(y.reshape(B, -1)).reshape(B, n, -1)))
        return y + x if self.residual else y


class ResGCB(nn.Module):
    """Two GraphConvBlocks of equal width plus an identity residual. (B, n, H) -> (B, n, H)."""

    def __init__(self, width: int, n_nodes: int, dropout: float = 0.0):
        super().__init__()
        self.b1 = GraphConvBlock(width, width, n_nodes, dropout)
        self.b2 = GraphConvBlock(width, width, n_nodes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b2(self.b1(x)) + x


def gcn_stack(in_len: int, width: int, n_nodes: int, n_res: int, dropout: float = 0.0) -> nn.Sequential:
    """GraphConvBlock(in_len -> width) followed by ``n_res`` ResGCB(width)."""
    return nn.Sequential(GraphConvBlock(in_len, width, n_nodes, dropout),
                         *[ResGCB(width, n_nodes, dropout) for _ in range(n_res)])
