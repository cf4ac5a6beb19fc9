"""Metrics (notes section 8) for NADS-Net and for the generator, and the ``generate`` command.

NADS-Net:
- PCK (torso-normalised): heatmaps upsampled to S, peaks = 3x3 local maxima above ``peak_threshold``; a labelled
  joint is correct when a peak of its channel lies within alpha * |neck - mid-hip| (its person's torso). With one
  person this is the per-channel argmax rule; with several, every person can claim its nearest peak (no PAF
  grouping). Reported per keypoint and as the mean over keypoints.
- PAF error: mean end-point error |paf_pred - paf_gt| over cells on a limb, and MSE over all cells.
- Belt: binarised at 0.5; dataset-level IoU = TP/(TP+FP+FN), Dice = 2TP/(2TP+FP+FN), plus mean per-image IoU.
GAN (pose consistency, like SPADE's segmenter check): the frozen NADS-Net on G(condition) vs the condition's
joints and belt (PCK, belt IoU), the same on the real images (the ceiling), and L1 / PSNR of G(condition) against
the real image for un-augmented conditions. FID would need Inception weights and is not computed.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from motionkit.errors import ConfigError
from motionkit.runfolder import resolve_run_dir
from motionkit.training.device import resolve_device
from nads_spade import labels as L
from nads_spade.augment import augment_arms
from nads_spade.data.dataset import build_dataset, imagenet_normalize
from nads_spade.gallery import render_condition, to_uint8
from nads_spade.losses import nads_loss
from nads_spade.metrics import decode_peaks
from nads_spade.models import PACKAGE, checkpoint_or_latest, load_generator, load_nads


def torso_length(person: np.ndarray) -> float:
    """|neck - mid-hip| (one hip if only one is labelled); 0 when undefined."""
    if person[3, 2] < 1:
        return 0.0
    hips = [person[h, :2] for h in (7, 8) if person[h, 2] >= 1]
    if not hips:
        return 0.0
    return float(np.linalg.norm(person[3, :2] - np.mean(hips, axis=0)))


def pck_counts(peaks, joints: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Correct and labelled counts per keypoint (9,) for one image; joints (P, 9, 3)."""
    correct, total = np.zeros(9), np.zeros(9)
    for person in joints:
        t = torso_length(person)
        if t <= 0:
            continue
        for k in range(9):
            if person[k, 2] < 1:
                continue
            total[k] += 1
            if len(peaks[k]) and np.min(np.linalg.norm(peaks[k][:, :2] - person[k, :2], axis=1)) <= alpha * t:
                correct[k] += 1
    return correct, total


class Meter:
    """Accumulates PCK counts, PAF errors and belt confusion counts over batches."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.correct, self.total = np.zeros(9), np.zeros(9)
        self.tp = self.fp = self.fn = 0.0
        self.ious, self.paf_epe, self.paf_mse, self.loss = [], [], [], []

    def add(self, heat, joints, belt_pred=None, belt_t=None, valid=None, paf=None, paf_t=None):
        for peaks, j in zip(decode_peaks(heat, self.cfg.image_size, self.cfg.peak_threshold, 2 * joints.shape[1]),
                            joints.cpu().numpy()):
            c, t = pck_counts(peaks, j, self.cfg.pck_alpha)
            self.correct += c
            self.total += t
        if paf is not None:
            on = paf_t.reshape(paf_t.shape[0], 8, 2, *paf_t.shape[-2:]).norm(dim=2) > 0
            epe = (paf - paf_t).reshape_as(paf_t).reshape(paf.shape[0], 8, 2, *paf.shape[-2:]).norm(dim=2)
            if bool(on.any()):
                self.paf_epe.append(float(epe[on].mean()))
            self.paf_mse.append(float(((paf - paf_t) ** 2).mean()))
        if belt_pred is not None:
            for b in range(belt_pred.shape[0]):
                if valid is not None and valid[b] <= 0:
                    continue
                p, t = belt_pred[b] >= 0.5, belt_t[b] >= 0.5
                tp, fp, fn = float((p & t).sum()), float((p & ~t).sum()), float((~p & t).sum())
                self.tp, self.fp, self.fn = self.tp + tp, self.fp + fp, self.fn + fn
                self.ious.append(tp / (tp + fp + fn) if tp + fp + fn > 0 else 1.0)

    def result(self) -> dict:
        per = np.where(self.total > 0, self.correct / np.maximum(self.total, 1), np.nan)
        denom = self.tp + self.fp + self.fn
        out = {"pck_mean": float(np.nanmean(per)) if np.isfinite(per).any() else float("nan"),
               "pck_per_keypoint": {n: float(v) for n, v in zip(L.KEYPOINT_NAMES, per)},
               "belt_iou": self.tp / denom if denom else float("nan"),
               "belt_dice": 2 * self.tp / (2 * self.tp + self.fp + self.fn) if denom else float("nan"),
               "belt_iou_per_image": float(np.mean(self.ious)) if self.ious else float("nan")}
        if self.paf_mse:
            out["paf_epe"] = float(np.mean(self.paf_epe)) if self.paf_epe else float("nan")
            out["paf_mse"] = float(np.mean(self.paf_mse))
        if self.loss:
            out["loss"] = float(np.mean(self.loss))
        return out


def _loader(cfg, split):
    ds = build_dataset(cfg, split)
    return torch.utils.data.DataLoader(ds, batch_size=cfg.eval_batch_size, shuffle=False)


@torch.no_grad()
def evaluate_nads(cfg, checkpoint: str, split: str = "test") -> dict:
    """PCK / PAF / belt metrics and the NADS-Net loss of a checkpoint on ``split``."""
    dev = resolve_device(cfg.net_device or cfg.device)
    net = load_nads(checkpoint, cfg, dev)
    meter = Meter(cfg)
    for batch in tqdm(_loader(cfg, split), desc=f"evaluate NADS-Net ({split})", unit="batch"):
        joints = batch["joints"]
        heat_t, paf_t = L.nads_targets(joints, cfg.image_size, cfg.sigma, cfg.paf_width_cells, cfg.heatmap_background)
        belt_t = L.belt_target(batch["belt"], cfg.image_size, cfg.belt_threshold_bug)
        out = net(imagenet_normalize(batch["image"].to(dev)))
        out = tuple(o.float().cpu() for o in out)
        meter.loss.append(float(nads_loss(out, heat_t, paf_t, belt_t, batch["belt_valid"], cfg.lambda_belt)["total"]))
        meter.add(out[0], joints, out[2], belt_t, batch["belt_valid"], out[1], paf_t)
    return meter.result()


@torch.no_grad()
def evaluate_gan(cfg, g_checkpoint: str, nads_checkpoint: str, split: str = "val") -> dict:
    """Pose consistency of G under a frozen NADS-Net, real-image ceiling, L1/PSNR vs the real image."""
    gdev, ndev = resolve_device(cfg.gan_device or cfg.device), resolve_device(cfg.net_device or cfg.device)
    G = load_generator(g_checkpoint, cfg, gdev)
    net = load_nads(nads_checkpoint, cfg, ndev)
    m_fake, m_real, m_aug = Meter(cfg), Meter(cfg), Meter(cfg)
    l1s, psnrs = [], []
    for batch in tqdm(_loader(cfg, split), desc=f"evaluate GAN ({split})", unit="batch"):
        joints = batch["joints"]
        belt_t = L.belt_target(batch["belt"], cfg.image_size, cfg.belt_threshold_bug)
        real01 = batch["image"]
        for meter, j in ((m_fake, joints), (m_aug, augment_arms(joints, cfg.arm_augment_type, cfg.image_size,
                                                                  cfg.arm_min_torso_px, cfg.torso_bug,
                                                                  cfg.arm_length_mode))):
            cond = L.condition(j, belt_t, cfg.image_size, cfg.sigma, cfg.paf_width_cells)
            fake01 = ((G(cond.to(gdev)).float().cpu() + 1) / 2).clamp(0, 1)
            heat, _, belt = (o.cpu() for o in net(imagenet_normalize(fake01.to(ndev))))
            meter.add(heat, j, belt, belt_t, batch["belt_valid"])
            if meter is m_fake:
                mse = ((fake01 - real01) ** 2).flatten(1).mean(1)
                l1s += (fake01 - real01).abs().flatten(1).mean(1).tolist()
                psnrs += [10 * math.log10(1.0 / max(float(v), 1e-10)) for v in mse]
        heat, _, belt = (o.cpu() for o in net(imagenet_normalize(real01.to(ndev))))
        m_real.add(heat, joints, belt, belt_t, batch["belt_valid"])
    fake, real, aug = m_fake.result(), m_real.result(), m_aug.result()
    return {"fake_pck_mean": fake["pck_mean"], "fake_belt_iou": fake["belt_iou"],
            "augmented_fake_pck_mean": aug["pck_mean"], "augmented_fake_belt_iou": aug["belt_iou"],
            "real_pck_mean": real["pck_mean"], "real_belt_iou": real["belt_iou"],
            "l1": float(np.mean(l1s)), "psnr": float(np.mean(psnrs))}


def evaluate_command(cfg) -> dict:
    """`evaluate`: NADS-Net on the test split and, when a G exists, the GAN's pose consistency on val.

    NADS-Net: ``eval_checkpoint`` or the latest ``<name>-nads`` run's best.pt; G: ``gan_checkpoint`` or the
    latest ``<name>-gan`` run's last.pt (skipped when there is none)."""
    ckpt = checkpoint_or_latest(cfg.eval_checkpoint, cfg, "nads", "best.pt")
    result = {"nads_test": evaluate_nads(cfg, ckpt, "test")}
    if result["nads_test"]["pck_mean"] == 0.0 and result["nads_test"]["belt_iou"] == 0.0:
        result["note"] = (f"PCK and belt IoU are 0: {ckpt} has learnt nothing measurable yet (a short CPU demo run "
                          "is all but untrained); these zeros say nothing about NADS-Net, train longer for numbers")
    try:
        g = checkpoint_or_latest(cfg.gan_checkpoint, cfg, "gan", "last.pt")
    except ConfigError:
        return result
    if Path(g).is_file():
        result["gan_val"] = evaluate_gan(cfg, g, ckpt, "val")
    return result


@torch.no_grad()
def generate(cfg, out_dir: str | None = None, n: int = 8) -> Path:
    """`generate`: G paints the first ``n`` val conditions with augmented arms; writes condition/fake/real PNGs
    into ``out_dir`` (default: a new ``<log_dir>/nads_spade/<name>-generated[-N]`` folder)."""
    dev = resolve_device(cfg.gan_device or cfg.device)
    G = load_generator(checkpoint_or_latest(cfg.gan_checkpoint, cfg, "gan", "last.pt"), cfg, dev)
    ds = build_dataset(cfg, "val")
    out = Path(out_dir) if out_dir else resolve_run_dir(cfg.log_dir, PACKAGE, f"{cfg.name}-generated", None)[0]
    out.mkdir(parents=True, exist_ok=True)
    for i in tqdm(range(min(n, len(ds))), desc="generate", unit="image"):
        item = ds[i]
        joints = augment_arms(item["joints"][None], cfg.arm_augment_type, cfg.image_size, cfg.arm_min_torso_px,
                              cfg.torso_bug, cfg.arm_length_mode)
        belt = L.belt_target(item["belt"][None], cfg.image_size, cfg.belt_threshold_bug)
        cond = L.condition(joints, belt, cfg.image_size, cfg.sigma, cfg.paf_width_cells)
        fake = G(cond.to(dev))[0]
        row = np.concatenate([render_condition(cond[0]), to_uint8(fake, (-1, 1)), to_uint8(item["image"])], 1)
        Image.fromarray(row).save(out / f"sample_{i:03d}.png")
    return out
