"""Multi-scale PatchGAN discriminator (pix2pixHD / SPADE): num_D NLayerDiscriminators on 1x, 1/2x ... inputs.

Input cat(label 26, image 3) = (B, 29, S, S). Scale k sees avg_pool2d(3, 2, 1, count_include_pad=False)^k.
NLayer (k 4, pad 2, LReLU 0.2): Conv(29->64, s2) | SN Conv(64->128, s2, no bias) + IN | SN Conv(128->256, s2) + IN
| SN Conv(256->512, s1) + IN | Conv(512->1, s1). Logits at S=384: (B, 1, 51, 51) and (B, 1, 27, 27).
Returns, per scale, the list of all 5 outputs (4 features for feature matching + logits). 5.58 M parameters.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from nads_spade.models.spade import init_weights


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_nc=29, ndf=64, n_layers=4):
        super().__init__()
        layers = [nn.Sequential(nn.Conv2d(input_nc, ndf, 4, 2, 2), nn.LeakyReLU(0.2))]
        nf = ndf
        for n in range(1, n_layers):
            nf_prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            layers.append(nn.Sequential(spectral_norm(nn.Conv2d(nf_prev, nf, 4, stride, 2, bias=False)),
                                        nn.InstanceNorm2d(nf, affine=False), nn.LeakyReLU(0.2)))
        layers.append(nn.Sequential(nn.Conv2d(nf, 1, 4, 1, 2)))
        for i, layer in enumerate(layers):
            self.add_module(f"model{i}", layer)
        self.n = len(layers)

    def forward(self, x):
        outs = []
        for i in range(self.n):
            x = getattr(self, f"model{i}")(x)
            outs.append(x)
        return outs


class MultiscaleDiscriminator(nn.Module):
    def __init__(self, input_nc=29, ndf=64, n_layers=4, num_D=2):
        super().__init__()
        self.scales = nn.ModuleList(NLayerDiscriminator(input_nc, ndf, n_layers) for _ in range(num_D))
        init_weights(self)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        results = []
        for i, d in enumerate(self.scales):
            results.append(d(x))
            if i != len(self.scales) - 1:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return results
