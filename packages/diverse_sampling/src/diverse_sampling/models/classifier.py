"""GRU action classifier used for FID / ACC (notes section 4; the original released weights, not training code).

future (B, t_pred, D) -> GRU(D, hidden, layers) -> last output -> Linear(hidden -> feat) -> tanh = FID feature
-> Linear(feat -> C) = logits.
"""

from __future__ import annotations

import torch
from torch import nn


class ActionClassifier(nn.Module):
    def __init__(self, input_dim: int, n_classes: int, hidden: int = 128, layers: int = 2, feat: int = 30,
                 random_h0: bool = False):
        super().__init__()
        self.gru = nn.GRU(input_dim, hidden, layers, batch_first=True)
        self.feat = nn.Linear(hidden, feat)
        self.cls = nn.Linear(feat, n_classes)
        self.hidden, self.layers = hidden, layers
        self.random_h0 = random_h0  # quirk 8: the original draws h0 ~ N(0, 1) on every call

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> FID features (B, feat)."""
        h0 = torch.zeros(self.layers, x.shape[0], self.hidden, device=x.device, dtype=x.dtype)
        if self.random_h0:
            h0 = torch.randn_like(h0)
        out, _ = self.gru(x, h0)
        return torch.tanh(self.feat(out[:, -1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> logits (B, C)."""
        return self.cls(self.features(x))
