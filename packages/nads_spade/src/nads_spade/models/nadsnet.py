"""NADS-Net: PVT-tiny backbone + FPN + keypoint-heatmap, PAF and seatbelt branches (single stage).

Input (B, 3, S, S) ImageNet-normalised (S = 384 in the paper):
    heat (B, 9 [10 with background], S/4, S/4), paf (B, 16, S/4, S/4), belt (B, 1, S, S) in [0, 1].
Parameters at paper sizes: backbone 12.71 M, FPN 2.62 M, heat 5.31 M, PAF 5.31 M, belt 2.40 M (28.4 M); with the
project's PVT (``pvt_variant: project``, embeddings on the 384 grid) the backbone has 13.47 M (29.1 M in all; the
project's file adds an unused cls token, final norm and 1000-class head: 29.6 M).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from nads_spade.models.fpn import FPN
from nads_spade.models.pvt import PVT


def two_conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class _Pyramid(nn.Module):
    """two_conv on each of P2..P5, bilinear up to the P2 grid (x1/x2/x4/x8), concatenated: (B, 4h, S/4, S/4)."""

    def __init__(self, fpn_ch, h):
        super().__init__()
        self.levels = nn.ModuleList(two_conv(fpn_ch, h) for _ in range(4))

    def forward(self, pyr):
        size = pyr[0].shape[-2:]
        outs = [lvl(p) for lvl, p in zip(self.levels, pyr)]
        outs = [o if o.shape[-2:] == size else F.interpolate(o, size=size, mode="bilinear", align_corners=False)
                for o in outs]
        return torch.cat(outs, dim=1)


class MapBranch(nn.Module):
    """Heatmap / PAF branch: pyramid concat 4h -> Conv3x3 4h + ReLU -> Conv3x3 2h + ReLU -> Conv1x1 out (linear)."""

    def __init__(self, out_ch, fpn_ch=256, h=128):
        super().__init__()
        self.pyramid = _Pyramid(fpn_ch, h)
        self.head = nn.Sequential(nn.Conv2d(4 * h, 4 * h, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(4 * h, 2 * h, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(2 * h, out_ch, 1))

    def forward(self, pyr):
        return self.head(self.pyramid(pyr))


class SegmentationBranch(nn.Module):
    """Seatbelt branch: concat 4h -> Conv3x3 h + ReLU -> up x2 -> Conv3x3 h/4 -> up x2 -> Conv3x3 1 -> (tanh+1)/2.

    (tanh(x) + 1) / 2 is computed as sigmoid(2x), the same function: in float32 the project's tanh form is exactly
    0 below x = -9, where the belt loss has no gradient left and the branch stops learning for good.
    """

    def __init__(self, fpn_ch=256, h=128):
        super().__init__()
        self.pyramid = _Pyramid(fpn_ch, h)
        self.conv1 = nn.Conv2d(4 * h, h, 3, padding=1)
        self.conv2 = nn.Conv2d(h, h // 4, 3, padding=1)
        self.conv3 = nn.Conv2d(h // 4, 1, 3, padding=1)

    def forward(self, pyr, logits: bool = False):
        """Belt probability (B, 1, S, S), or its logit 2x with ``logits`` (for BCE-with-logits)."""
        x = F.relu(self.conv1(self.pyramid(pyr)))
        x = self.conv2(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        x = self.conv3(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
        return 2 * x if logits else torch.sigmoid(2 * x)


class NADSNet(nn.Module):
    def __init__(self, embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), mlp_ratios=(8, 8, 4, 4),
                 depths=(2, 2, 2, 2), sr_ratios=(8, 4, 2, 1), drop_path=0.1, fpn_channels=256,
                 fpn_wiring="standard", head_channels=128, num_heat=9, num_paf=16, pvt_variant="official",
                 image_size=384):
        super().__init__()
        self.backbone = PVT(embed_dims, num_heads, mlp_ratios, depths, sr_ratios, drop_path, pos_embed=pvt_variant,
                            image_size=image_size)
        self.fpn = FPN(embed_dims, fpn_channels, fpn_wiring)
        self.heat_branch = MapBranch(num_heat, fpn_channels, head_channels)
        self.paf_branch = MapBranch(num_paf, fpn_channels, head_channels)
        self.belt_branch = SegmentationBranch(fpn_channels, head_channels)
        for mod in (self.fpn, self.heat_branch, self.paf_branch, self.belt_branch):
            for m in mod.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.normal_(m.weight, std=0.01)
                    nn.init.zeros_(m.bias)

    @classmethod
    def from_config(cls, cfg) -> NADSNet:
        return cls(cfg.pvt_embed_dims, cfg.pvt_num_heads, cfg.pvt_mlp_ratios, cfg.pvt_depths, cfg.pvt_sr_ratios,
                   cfg.pvt_drop_path, cfg.fpn_channels, cfg.fpn_wiring, cfg.head_channels,
                   9 + int(cfg.heatmap_background), 16, cfg.pvt_variant, cfg.image_size)

    def forward(self, x: torch.Tensor, belt_logits: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(heat, paf, belt probability); ``belt_logits`` returns the belt's logit instead (training only)."""
        pyr = self.fpn(self.backbone(x))
        return self.heat_branch(pyr), self.paf_branch(pyr), self.belt_branch(pyr, belt_logits)
