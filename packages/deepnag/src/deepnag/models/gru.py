"""A GRU layer written with plain tensor ops, so autograd can differentiate it twice.

DeepGAN's gradient penalty back-propagates through d critic / d input, i.e. it needs the second derivative of
the critic's GRUs. cuDNN's fused GRU has no double backward (pytorch/pytorch#5261); the original used a
TorchScript GRU (JitGRU). This module unrolls the cell over time with matmul/sigmoid/tanh, so it works on CPU
and CUDA alike. Gate equations, gate order (r, z, n), parameter names/shapes and the U(-1/sqrt(H), 1/sqrt(H))
initialisation are those of `torch.nn.GRU` (one layer, batch_first), so weights are interchangeable:

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}
"""

from __future__ import annotations

import math

import torch
from torch import nn


class DoubleBackwardGRU(nn.Module):
    """Single-layer, batch-first GRU: x (B, T, I) -> outputs (B, T, H), last state (B, H)."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_hh_l0 = nn.Parameter(torch.empty(3 * hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        h = x.new_zeros(B, self.hidden_size) if h0 is None else h0
        gates_x = torch.nn.functional.linear(x, self.weight_ih_l0, self.bias_ih_l0)  # (B, T, 3H), all steps at once
        outputs = []
        for t in range(T):
            gx_r, gx_z, gx_n = gates_x[:, t].chunk(3, dim=1)
            gh_r, gh_z, gh_n = torch.nn.functional.linear(h, self.weight_hh_l0, self.bias_hh_l0).chunk(3, dim=1)
            r = torch.sigmoid(gx_r + gh_r)
            z = torch.sigmoid(gx_z + gh_z)
            n = torch.tanh(gx_n + r * gh_n)
            h = (1 - z) * n + z * h
            outputs.append(h)
        return torch.stack(outputs, dim=1), h
