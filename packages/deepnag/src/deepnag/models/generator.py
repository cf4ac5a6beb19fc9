"""DeepNAG's generator `DeepNAGNet` (deepnag.md §1.1); DeepGAN uses the same network as its generator."""

from __future__ import annotations

import torch
from torch import nn


class DeepNAGNet(nn.Module):
    """Per-step noise + class one-hot -> stacked GRUs -> per-step linear -> tanh.

    Input:  z (B, T, latent_dim), fresh N(0, 1) noise at every time step; labels (B,) class indices.
            The one-hot label is repeated over the T steps and concatenated: (B, T, latent_dim + C).
    Layers: GRU(latent+C -> 128) -> GRU(128 -> 256) -> GRU(256 -> 512) -> Linear(512 -> F) -> tanh.
    Output: (B, T, F) in [-1, 1], the range of the min-max normalised data; T = --resample-n (64).
    ~1.55 M parameters for F = 63 (Kinect), C = 14.
    """

    def __init__(self, n_classes: int, n_features: int, latent_dim: int = 32, hidden=(128, 256, 512)):
        super().__init__()
        self.n_classes, self.n_features, self.latent_dim = n_classes, n_features, latent_dim
        sizes = [latent_dim + n_classes, *hidden]
        self.grus = nn.ModuleList(nn.GRU(i, o, batch_first=True) for i, o in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], n_features)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(labels, self.n_classes).to(z.dtype)
        h = torch.cat([z, onehot[:, None, :].expand(-1, z.shape[1], -1)], dim=-1)
        for gru in self.grus:
            h, _ = gru(h)
        # The head stays float32 under a bf16 autocast (--precision bf16): bf16 points (~3 significant
        # digits) would be coarser than the equidistance term's segment lengths (~2/T).
        with torch.autocast(h.device.type, enabled=False):
            return torch.tanh(self.out(h.float()))

    def sample_noise(self, batch: int, steps: int, device=None, generator: torch.Generator | None = None):
        """z ~ N(0, 1) of shape (batch, steps, latent_dim)."""
        return torch.randn(batch, steps, self.latent_dim, device=device, generator=generator)

    @torch.no_grad()
    def generate(self, labels: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Samples for `labels` (B,) -> (B, steps, F) in the normalised space."""
        device = next(self.parameters()).device
        z = self.sample_noise(len(labels), steps, device=None, generator=generator).to(device)
        return self(z, labels.to(device))
