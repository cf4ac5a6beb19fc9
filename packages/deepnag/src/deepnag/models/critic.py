"""DeepGAN's critic `DeepGANDiscriminator` (deepnag.md §2), built on the double-backward-capable GRU."""

from __future__ import annotations

import torch
from torch import nn

from deepnag.models.gru import DoubleBackwardGRU


class DeepGANCritic(nn.Module):
    """Wasserstein critic: sequence + class one-hot -> three GRUs -> Linear on the last step -> score.

    Input:  x (B, T, F), labels (B,). The one-hot is repeated over time: (B, T, F + C).
    Layers: GRU(F+C -> 512) -> GRU(512 -> 256) -> GRU(256 -> 128) -> Linear(128 -> 1) on step T only.
    Output: (B,) unbounded scores (no sigmoid). GRUs are DoubleBackwardGRU so the gradient penalty works.
    """

    def __init__(self, n_classes: int, n_features: int, hidden=(512, 256, 128)):
        super().__init__()
        self.n_classes = n_classes
        sizes = [n_features + n_classes, *hidden]
        self.grus = nn.ModuleList(DoubleBackwardGRU(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(labels, self.n_classes).to(x.dtype)
        h = torch.cat([x, onehot[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
        for gru in self.grus:
            h, last = gru(h)
        return self.out(last).squeeze(-1)
