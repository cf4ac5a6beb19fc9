"""`predict`: NADS-Net on your own images (a file or a folder), from our checkpoint or the project's.

For each image ``<stem>``, in the output folder:
- ``<stem>.json``: image size, and per keypoint (0 R-wrist ... 8 L-hip) its peaks ``[x, y, score]`` in pixels of
  the original image (3x3 local maxima of the upsampled heatmap above ``peak_threshold``, best first), plus the
  belt's share of the image;
- ``<stem>_paf.npy``: the 16 PAF channels (float32, (16, S/4, S/4); channel 2k = x, 2k+1 = y of limb k);
- ``<stem>_belt.png``: the belt mask at the original size (255 where the belt probability is >= 0.5);
- ``<stem>_overlay.png``: the image with the belt tinted, the best peak of each keypoint and the limbs between.
The image is resized to ``image_size`` non-uniformly (bicubic), like the training data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from motionkit.errors import DataFormatError, DatasetMissingError
from motionkit.runfolder import resolve_run_dir
from motionkit.training.device import resolve_device
from nads_spade.data.dataset import imagenet_normalize
from nads_spade.data.formats import IMAGE_SUFFIXES
from nads_spade.labels import KEYPOINT_NAMES, LIMBS
from nads_spade.metrics import decode_peaks
from nads_spade.models import PACKAGE, checkpoint_or_latest, load_nads

COLOURS = [(255, 60, 60), (255, 150, 40), (255, 230, 40), (240, 240, 240), (60, 220, 60), (40, 200, 200),
           (60, 120, 255), (200, 80, 255), (255, 80, 200)]


def image_files(inputs: list[str]) -> list[Path]:
    """Files given, and the images inside folders given (sorted); one line when nothing is found."""
    files: list[Path] = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise DatasetMissingError(f"{path}: no such image or folder")
    if not files:
        raise DatasetMissingError(f"{', '.join(inputs)}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def load_image(path: Path, size: int) -> tuple[np.ndarray, torch.Tensor]:
    """(original RGB uint8 (H, W, 3), network input (1, 3, size, size) ImageNet-normalised)."""
    try:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
    except (OSError, ValueError) as e:
        raise DataFormatError(f"{path}: cannot decode image ({e})") from None
    small = np.asarray(rgb.resize((size, size), Image.BICUBIC), dtype=np.float32) / 255.0
    x = imagenet_normalize(torch.from_numpy(small).permute(2, 0, 1)[None].contiguous())
    return np.asarray(rgb), x


def overlay(rgb: np.ndarray, belt: np.ndarray, keypoints: dict[str, list]) -> Image.Image:
    """The image with the belt tinted blue, each keypoint's best peak and the limbs between them."""
    out = rgb.astype(np.float32)
    out[belt] = 0.5 * out[belt] + 0.5 * np.array([40, 120, 255])
    img = Image.fromarray(out.astype(np.uint8))
    draw = ImageDraw.Draw(img)
    best = {k: v[0][:2] for k, v in keypoints.items() if v}
    r = max(2, round(min(rgb.shape[:2]) / 80))
    for a, b in LIMBS:
        na, nb = KEYPOINT_NAMES[a], KEYPOINT_NAMES[b]
        if na in best and nb in best:
            draw.line([tuple(best[na]), tuple(best[nb])], fill=(255, 255, 255), width=max(1, r // 2))
    for k, name in enumerate(KEYPOINT_NAMES):
        if name in best:
            x, y = best[name]
            draw.ellipse([x - r, y - r, x + r, y + r], fill=COLOURS[k], outline=(0, 0, 0))
    return img


@torch.no_grad()
def predict_image(cfg, net, path: Path, out: Path, device: torch.device) -> dict:
    """Run NADS-Net on one image and write its four files (see module docstring); returns the JSON record."""
    rgb, x = load_image(path, cfg.image_size)
    h, w = rgb.shape[:2]
    heat, paf, belt = (o.float().cpu() for o in net(x.to(device)))
    peaks = decode_peaks(heat, cfg.image_size, cfg.peak_threshold)[0]
    sx, sy = w / cfg.image_size, h / cfg.image_size
    keypoints = {name: [[round(float(px * sx), 2), round(float(py * sy), 2), round(float(sc), 4)]
                        for px, py, sc in peaks[k]] for k, name in enumerate(KEYPOINT_NAMES)}
    belt_full = torch.nn.functional.interpolate(belt, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    mask = belt_full.numpy() >= 0.5
    stem = path.stem
    Image.fromarray((mask * 255).astype(np.uint8)).save(out / f"{stem}_belt.png")
    np.save(out / f"{stem}_paf.npy", paf[0].numpy().astype(np.float32))
    overlay(rgb, mask, keypoints).save(out / f"{stem}_overlay.png")
    record = {"image": str(path), "width": w, "height": h, "keypoints": keypoints,
              "belt_fraction": round(float(mask.mean()), 5),
              "files": {k: f"{stem}_{k}.{ext}" for k, ext in (("belt", "png"), ("paf", "npy"), ("overlay", "png"))}}
    (out / f"{stem}.json").write_text(json.dumps(record, indent=1))
    return record


def predict_command(cfg, inputs: list[str], out_dir: str = "") -> Path:
    """`predict`: every image of ``inputs``; NADS-Net from ``eval_checkpoint`` (ours or the project's .pth) or
    the latest ``<name>-nads`` run's best.pt. Writes into ``out_dir`` or a new ``<name>-predict`` run folder."""
    files = image_files(inputs)
    device = resolve_device(cfg.net_device or cfg.device)
    net = load_nads(checkpoint_or_latest(cfg.eval_checkpoint, cfg, "nads", "best.pt"), cfg, device)
    out = Path(out_dir) if out_dir else resolve_run_dir(cfg.log_dir, PACKAGE, f"{cfg.name}-predict", None)[0]
    out.mkdir(parents=True, exist_ok=True)
    for path in tqdm(files, desc="predict", unit="image"):
        predict_image(cfg, net, path, out, device)
    return out
