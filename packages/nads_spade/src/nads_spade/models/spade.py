"""SPADE generator (Park et al., CVPR 2019) conditioned on the 26-channel pose/belt map.

    seg (B, 26, S, S) -> fc: Conv3x3(26 -> 16 ngf) on seg resized to S/2^n_up
    head_0 (16nf) -> up -> G_middle_0, G_middle_1 (16nf) -> up -> up_0 (8nf) -> up -> up_1 (4nf) -> up -> up_2 (2nf)
    -> up -> up_3 (nf) -> LeakyReLU(0.2) -> Conv3x3(nf -> 3) -> tanh  => (B, 3, S, S) in [-1, 1]
At ngf 64, 384x384 ('normal': 12x12 start) it has 92.75 M trainable parameters.

SPADE(x, seg) = Norm(x) * (1 + gamma(seg)) + beta(seg), Norm param-free (BatchNorm/SyncBatchNorm/InstanceNorm with
affine=False), gamma/beta = Conv3x3(128 -> C) of ReLU(Conv3x3(label -> 128)) of the seg resized to x.
SPADEResnetBlock: main SPADE -> LReLU -> conv_0 -> SPADE -> LReLU -> conv_1; shortcut SPADE -> conv_s 1x1 when
fin != fout; spectral norm on conv_0, conv_1, conv_s only.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from motionkit.errors import ConfigError


def resize_segmap(seg: torch.Tensor, size, mode: str) -> torch.Tensor:
    """SPADE resizes with nearest; ``area`` (documented deviation) keeps 1-3 px PAF stripes and heat peaks."""
    if seg.shape[-2:] == tuple(size):
        return seg
    if mode == "nearest":
        return F.interpolate(seg, size=size, mode="nearest")
    if mode == "area":
        return F.adaptive_avg_pool2d(seg, size)
    raise ConfigError(f"segmap_resize: unknown value {mode!r} (nearest | area)")


def param_free_norm(kind: str, c: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c, affine=False)
    if kind == "syncbatch":
        return nn.SyncBatchNorm(c, affine=False)
    if kind == "instance":
        return nn.InstanceNorm2d(c, affine=False)
    raise ConfigError(f"norm_G: unknown value {kind!r} (batch | syncbatch | instance)")


class SPADE(nn.Module):
    def __init__(self, norm_nc, label_nc, hidden=128, norm="batch", resize="nearest"):
        super().__init__()
        self.param_free_norm = param_free_norm(norm, norm_nc)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, 3, padding=1)
        self.resize = resize

    def forward(self, x, seg):
        seg = resize_segmap(seg, x.shape[-2:], self.resize)
        a = self.mlp_shared(seg)
        return self.param_free_norm(x) * (1 + self.mlp_gamma(a)) + self.mlp_beta(a)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin, fout, label_nc, hidden=128, norm="batch", resize="nearest"):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmid = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, fmid, 3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(fmid, fout, 3, padding=1))
        self.norm_0 = SPADE(fin, label_nc, hidden, norm, resize)
        self.norm_1 = SPADE(fmid, label_nc, hidden, norm, resize)
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))
            self.norm_s = SPADE(fin, label_nc, hidden, norm, resize)

    def forward(self, x, seg):
        xs = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return xs + dx


class SPADEGenerator(nn.Module):
    def __init__(self, label_nc=26, ngf=64, crop_size=384, num_upsampling_layers="normal", hidden=128,
                 norm="batch", resize="nearest"):
        super().__init__()
        n_up = {"normal": 5, "more": 6, "most": 7}[num_upsampling_layers]
        if crop_size % 2 ** n_up:
            raise ConfigError(f"image_size {crop_size} must be divisible by 2^{n_up} for the SPADE generator")
        self.mode, self.sw, self.resize = num_upsampling_layers, crop_size // 2 ** n_up, resize
        nf = ngf
        args = (label_nc, hidden, norm, resize)
        self.fc = nn.Conv2d(label_nc, 16 * nf, 3, padding=1)
        self.head_0 = SPADEResnetBlock(16 * nf, 16 * nf, *args)
        self.G_middle_0 = SPADEResnetBlock(16 * nf, 16 * nf, *args)
        self.G_middle_1 = SPADEResnetBlock(16 * nf, 16 * nf, *args)
        self.up_0 = SPADEResnetBlock(16 * nf, 8 * nf, *args)
        self.up_1 = SPADEResnetBlock(8 * nf, 4 * nf, *args)
        self.up_2 = SPADEResnetBlock(4 * nf, 2 * nf, *args)
        self.up_3 = SPADEResnetBlock(2 * nf, nf, *args)
        final = nf
        if num_upsampling_layers == "most":
            self.up_4 = SPADEResnetBlock(nf, nf // 2, *args)
            final = nf // 2
        self.conv_img = nn.Conv2d(final, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        init_weights(self)

    def forward(self, seg: torch.Tensor) -> torch.Tensor:
        x = self.fc(resize_segmap(seg, (self.sw, self.sw), self.resize))
        x = self.head_0(x, seg)
        x = self.up(x)
        x = self.G_middle_0(x, seg)
        if self.mode in ("more", "most"):
            x = self.up(x)
        x = self.G_middle_1(x, seg)
        for blk in (self.up_0, self.up_1, self.up_2, self.up_3):
            x = blk(self.up(x), seg)
        if self.mode == "most":
            x = self.up_4(self.up(x), seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


def init_weights(net: nn.Module, gain: float = 0.02) -> None:
    """SPADE init: xavier_normal(gain 0.02) on conv/linear weights, bias 0; norm weights N(1, 0.02)."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
            nn.init.xavier_normal_(w, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
