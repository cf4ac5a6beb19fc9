"""Velocity PatchGAN discriminator (original ``Speech2Gesture_D``, in=96)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .encoders import CNR


def velocity(pose: torch.Tensor) -> torch.Tensor:
    """Frame differences (B, T, P) with the first frame 0."""
    return torch.cat([torch.zeros_like(pose[:, :1]), pose[:, 1:] - pose[:, :-1]], 1)


class VelocityPatchD(nn.Module):
    """pose (B, 64, P) -> velocity -> Conv1d(P->64,k4,s2,p1)+LReLU -> CNR(64->128,k4,s2) -> CNR(128->256,k4,s1,p1)
    -> Conv1d(256->1,k4) -> patch scores (B, 12). No sigmoid (the GAN loss is L1 to targets 1/0)."""

    def __init__(self, P=96, C=64):
        super().__init__()
        self.conv0 = nn.Conv1d(P, C, 4, 2, 1)
        self.net = nn.Sequential(CNR(C, 2 * C, 4, 2), CNR(2 * C, 4 * C, 4, 1, pad=1), nn.Conv1d(4 * C, 1, 4))

    def forward(self, pose):
        x = F.leaky_relu(self.conv0(velocity(pose).transpose(1, 2)), 0.2)
        return self.net(x).squeeze(1)
