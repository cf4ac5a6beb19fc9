"""Pyramid Vision Transformer v1 (PVT-tiny) as a 4-stage backbone (Wang et al., ICCV 2021; detection variant).

Stage i: PatchEmbed (Conv k=s=patch -> tokens -> LayerNorm) + learned positional embedding + ``depth_i`` blocks
of spatial-reduction attention (SRA) and MLP. No cls token, no final norm, no head. Two variants
(``pos_embed``):
- ``official`` (whai362/PVT detection/pvt.py): embeddings stored at the 224 grid (56^2, 28^2, 14^2, 7^2 + 1 cls
  position kept only so that ``pvt_tiny.pth`` loads) and resized bilinearly to the input grid.
- ``project`` (the Pose-Driven Image Generation project's PVT/pvt.py): embeddings learned directly on the input
  grid (96^2, 48^2, 24^2, 12^2 at 384; no cls position), never resized, drop-path 0. Its file names them
  ``pos_embed_1..4`` and also holds an unused cls token, final norm and 1000-class head (see ``compat.py``).

Shapes at 384x384 input (tiny: dims 64/128/320/512, heads 1/2/5/8, mlp 8/8/4/4, depths 2/2/2/2, sr 8/4/2/1):
    C2 (B, 64, 96, 96)  C3 (B, 128, 48, 48)  C4 (B, 320, 24, 24)  C5 (B, 512, 12, 12); 12.71 M parameters.
Parameter names follow the official ``pvt_tiny.pth`` (patch_embed{i}, pos_embed{i}, block{i}.{j}.attn.q/kv/sr...).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from motionkit.errors import ConfigError


class DropPath(nn.Module):
    """Stochastic depth: drop the residual branch per sample with probability p (scaled by 1/(1-p))."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x):
        if self.p == 0.0 or not self.training:
            return x
        keep = torch.rand((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device, dtype=x.dtype) >= self.p
        return x * keep / (1.0 - self.p)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    """Spatial-reduction attention: keys/values from a Conv(k=s=sr)-reduced, LayerNormed token grid."""

    def __init__(self, dim, num_heads, sr_ratio):
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=True)
        self.kv = nn.Linear(dim, 2 * dim, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x, h, w):
        b, n, c = x.shape
        q = self.q(x).reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)
        if self.sr_ratio > 1:
            x = self.norm(self.sr(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2))
        kv = self.kv(x).reshape(b, -1, 2, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, kv[0], kv[1], scale=self.scale)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """x += DropPath(SRA(LN x)); x += DropPath(MLP(LN x)), LayerNorm eps 1e-6."""

    def __init__(self, dim, num_heads, mlp_ratio, sr_ratio, drop_path):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads, sr_ratio)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x, h, w):
        x = x + self.drop_path(self.attn(self.norm1(x), h, w))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, patch, cin, dim):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.proj(x)
        h, w = x.shape[-2:]
        return self.norm(x.flatten(2).transpose(1, 2)), h, w


class PVT(nn.Module):
    """PVT v1 backbone. Input (B, 3, H, W) ImageNet-normalised, H, W divisible by 32 -> 4 NCHW maps."""

    def __init__(self, embed_dims=(64, 128, 320, 512), num_heads=(1, 2, 5, 8), mlp_ratios=(8, 8, 4, 4),
                 depths=(2, 2, 2, 2), sr_ratios=(8, 4, 2, 1), drop_path_rate=0.1, pretrain_size=224,
                 pos_embed: str = "official", image_size: int = 384):
        super().__init__()
        if pos_embed not in ("official", "project"):
            raise ConfigError(f"pvt_variant: unknown value {pos_embed!r} (official | project)")
        self.embed_dims, self.variant = tuple(embed_dims), pos_embed
        base = pretrain_size if pos_embed == "official" else image_size
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        cin, k = 3, 0
        for i in range(4):
            patch = 4 if i == 0 else 2
            grid = base // (4 * 2 ** i)
            setattr(self, f"patch_embed{i + 1}", PatchEmbed(patch, cin, embed_dims[i]))
            n_pos = grid * grid + (1 if i == 3 and pos_embed == "official" else 0)  # (unused) cls position
            setattr(self, f"pos_embed{i + 1}", nn.Parameter(torch.zeros(1, n_pos, embed_dims[i])))
            setattr(self, f"block{i + 1}", nn.ModuleList(
                Block(embed_dims[i], num_heads[i], mlp_ratios[i], sr_ratios[i], dpr[k + j]) for j in range(depths[i])))
            k += depths[i]
            cin = embed_dims[i]
        self.grids = [base // (4 * 2 ** i) for i in range(4)]
        self.apply(self._init)
        for i in range(4):
            nn.init.trunc_normal_(getattr(self, f"pos_embed{i + 1}"), std=0.02)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def _pos(self, i: int, h: int, w: int) -> torch.Tensor:
        pos = getattr(self, f"pos_embed{i + 1}")
        if i == 3 and self.variant == "official":
            pos = pos[:, 1:]
        g = self.grids[i]
        if (h, w) == (g, g):
            return pos
        if self.variant == "project":
            raise ConfigError(f"pvt_variant project: the positional embeddings are learned on a {g}x{g} grid "
                              f"(image_size {4 * 2 ** i * g}); got a {h}x{w} grid")
        grid = pos.reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)
        return grid.flatten(2).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        b = x.shape[0]
        for i in range(4):
            x, h, w = getattr(self, f"patch_embed{i + 1}")(x)
            x = x + self._pos(i, h, w)
            for blk in getattr(self, f"block{i + 1}"):
                x = blk(x, h, w)
            x = x.transpose(1, 2).reshape(b, -1, h, w)
            feats.append(x)
        return feats

    def load_official(self, path: str) -> list[str]:
        """Load the official ``pvt_tiny.pth`` (raw state dict or {'model': ...}), ignoring cls/norm/head.

        Returns the missing keys (should be empty). Positional embeddings stay at 224 and are resized on the fly.
        """
        from nads_spade.compat import read_weights  # restricted unpickler, one-line errors

        state = read_weights(path)
        if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
            state = state["model"]
        state = {k: v for k, v in state.items() if not k.startswith(("cls_token", "norm.", "head."))}
        missing, unexpected = self.load_state_dict(state, strict=False)
        if unexpected:
            warnings.warn(f"{path}: ignored unexpected keys {unexpected[:5]}...", stacklevel=2)
        return list(missing)
