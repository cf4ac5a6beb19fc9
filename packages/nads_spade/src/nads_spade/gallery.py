"""The image gallery of a run (like the original's ``web/index.html``): condition / fake / real per display step.

Images are written to ``<run>/web/images/<tag>_<label>.png`` and ``<run>/web/index.html`` lists every display
step, newest first. ``render_condition`` turns the 26-channel condition into an RGB picture: heatmaps (max over
keypoints) in red, PAF magnitude in green, belt in blue.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(img: torch.Tensor, value_range=(0.0, 1.0)) -> np.ndarray:
    """(3, H, W) or (1, H, W) tensor in value_range -> (H, W, 3) uint8."""
    lo, hi = value_range
    x = ((img.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    if x.shape[0] == 1:
        x = x.repeat(3, 1, 1)
    return (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def render_condition(cond: torch.Tensor) -> np.ndarray:
    """(26, H, W) condition -> (H, W, 3) uint8 (R = max heatmap, G = PAF magnitude, B = belt)."""
    heat = cond[:9].max(dim=0).values
    paf = cond[9:25].reshape(8, 2, *cond.shape[-2:]).norm(dim=1).max(dim=0).values.clamp(0, 1)
    rgb = torch.stack([heat, paf, cond[25] * 0.7])
    return to_uint8(rgb)


def render_maps(heat: torch.Tensor, paf: torch.Tensor, belt: torch.Tensor, size: int) -> np.ndarray:
    """NADS-Net outputs (9|10, h, w), (16, h, w), (1, S, S) -> RGB like :func:`render_condition` at ``size``."""
    up = torch.nn.functional.interpolate
    h = up(heat[None, :9].float(), size=(size, size), mode="bilinear", align_corners=False)[0].clamp(0, 1)
    p = up(paf[None].float(), size=(size, size), mode="bilinear", align_corners=False)[0]
    b = up(belt[None].float(), size=(size, size), mode="bilinear", align_corners=False)[0]
    return render_condition(torch.cat([h, p, b]))


class Gallery:
    def __init__(self, run_dir: str | Path, title: str, enabled: bool = True):
        self.web = Path(run_dir) / "web"
        self.title, self.enabled = title, enabled
        if enabled:
            (self.web / "images").mkdir(parents=True, exist_ok=True)

    def add(self, epoch: int, step: int, visuals: dict[str, np.ndarray]) -> None:
        if not self.enabled:
            return
        tag = f"epoch{epoch:03d}_step{step:07d}"
        for label, arr in visuals.items():
            Image.fromarray(arr).save(self.web / "images" / f"{tag}_{label}.png")
        self._write_index()

    def _write_index(self) -> None:
        files = sorted((self.web / "images").glob("*.png"), reverse=True)
        rows: dict[str, list[Path]] = {}
        for f in files:
            tag = "_".join(f.stem.split("_")[:2])
            rows.setdefault(tag, []).append(f)
        parts = [f"<html><head><title>{html.escape(self.title)}</title></head><body>",
                 f"<h1>{html.escape(self.title)}</h1>"]
        for tag, fs in rows.items():
            parts.append(f"<h3>{html.escape(tag)}</h3><table><tr>")
            for f in sorted(fs):
                label = f.stem[len(tag) + 1:]
                parts.append(f'<td halign="center"><p><img src="images/{f.name}" width="256"></p>'
                             f"<p>{html.escape(label)}</p></td>")
            parts.append("</tr></table>")
        parts.append("</body></html>")
        (self.web / "index.html").write_text("\n".join(parts))
