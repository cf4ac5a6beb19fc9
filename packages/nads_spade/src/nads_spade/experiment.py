"""`experiment`: does pose-driven GAN augmentation help NADS-Net on arm poses it never saw?

1. render the synthetic set (train/val with narrow arm poses, test_wide with raised/stretched arms);
2. train NADS-Net without augmentation (baseline) -> also the frozen NADS-Net of the GAN's extra losses;
3. train the SPADE GAN on the same training set;
4. train NADS-Net with GAN augmentation ('highly' arm poses painted on half of each batch), same epochs;
5. evaluate both on test_wide and val: PCK (torso-normalised), belt IoU, loss; GAN pose consistency.
Writes ``results.md`` (the table), ``results.json`` and ``augmented_samples.png`` into ``experiment_dir``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nads_spade import labels as L
from nads_spade.augment import augment_arms
from nads_spade.data.dataset import build_dataset
from nads_spade.data.synthetic import make_synthetic
from nads_spade.evaluate import evaluate_gan, evaluate_nads
from nads_spade.gallery import render_condition, to_uint8
from nads_spade.models import load_generator
from nads_spade.train_gan import train_gan
from nads_spade.train_nads import train_nads


def augmented_figure(cfg, g_ckpt: str, path: Path, n: int = 4) -> None:
    """Rows of [real image | real condition | augmented condition | G(augmented condition)]."""
    torch.manual_seed(cfg.seed)
    G = load_generator(g_ckpt, cfg)
    ds = build_dataset(cfg, "train")
    rows = []
    with torch.no_grad():
        for i in range(min(n, len(ds))):
            item = ds[i]
            j = item["joints"][None]
            belt = L.belt_target(item["belt"][None], cfg.image_size)
            aug = augment_arms(j, "highly", cfg.image_size, cfg.arm_min_torso_px, False, "keep")
            c0 = L.condition(j, belt, cfg.image_size, cfg.sigma)
            c1 = L.condition(aug, belt, cfg.image_size, cfg.sigma)
            rows.append(np.concatenate([to_uint8(item["image"]), render_condition(c0[0]), render_condition(c1[0]),
                                        to_uint8(G(c1)[0], (-1, 1))], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(path)


def run_experiment(cfg) -> str:
    exp = Path(cfg.experiment_dir)
    data = exp / "data"
    base = dataclasses.replace(cfg, synthetic_root=str(data), train_root=str(data / "train"),
                               val_root=str(data / "val"), test_root=str(data / "test_wide"), max_steps=0)
    if not (data / "test_wide").is_dir():
        make_synthetic(base)
    baseline_cfg = dataclasses.replace(base, run_dir=str(exp / "baseline"), gan_augment=False,
                                       nads_epochs=cfg.experiment_nads_epochs)
    baseline = train_nads(baseline_cfg)
    gan_cfg = dataclasses.replace(base, run_dir=str(exp / "gan"), niter=cfg.experiment_gan_epochs, niter_decay=0,
                                  nads_checkpoint=baseline["best"])
    gan = train_gan(gan_cfg)
    aug_cfg = dataclasses.replace(baseline_cfg, run_dir=str(exp / "augmented"), gan_augment=True,
                                  gan_checkpoint=gan["checkpoint"])
    augmented = train_nads(aug_cfg)
    results = {"config": {"image_size": cfg.image_size, "train": len(build_dataset(base, "train")),
                          "test_wide": len(build_dataset(base, "test")), "nads_epochs": cfg.experiment_nads_epochs,
                          "gan_epochs": cfg.experiment_gan_epochs, "arm_augment_type": cfg.arm_augment_type}}
    for name, run, c in (("baseline", baseline, baseline_cfg), ("gan_augmented", augmented, aug_cfg)):
        results[name] = {"test_wide": evaluate_nads(c, run["best"], "test"),
                         "val": evaluate_nads(c, run["best"], "val"), "best_val_loss": run["best_val"]}
    results["gan_pose_consistency"] = evaluate_gan(gan_cfg, gan["checkpoint"], baseline["best"], "val")
    augmented_figure(base, gan["checkpoint"], exp / "augmented_samples.png")
    (exp / "results.json").write_text(json.dumps(results, indent=2))
    a = cfg.pck_alpha
    lines = [f"| NADS-Net trained | PCK@{a} test_wide (mean) | belt IoU test_wide | loss test_wide | PCK@{a} val | "
             "belt IoU val | best val loss |", "|---|---|---|---|---|---|---|"]
    for name in ("baseline", "gan_augmented"):
        r = results[name]
        lines.append(f"| {name} | {r['test_wide']['pck_mean']:.3f} | {r['test_wide']['belt_iou']:.3f} | "
                     f"{r['test_wide']['loss']:.1f} | {r['val']['pck_mean']:.3f} | {r['val']['belt_iou']:.3f} | "
                     f"{r['best_val_loss']:.1f} |")
    g = results["gan_pose_consistency"]
    lines.append("")
    lines.append(f"GAN pose consistency (val, frozen baseline NADS-Net): PCK real {g['real_pck_mean']:.3f} / "
                 f"fake {g['fake_pck_mean']:.3f} / fake with augmented arms {g['augmented_fake_pck_mean']:.3f}; "
                 f"belt IoU real {g['real_belt_iou']:.3f} / fake {g['fake_belt_iou']:.3f}; "
                 f"L1 {g['l1']:.3f}, PSNR {g['psnr']:.2f} dB")
    table = "\n".join(lines)
    (exp / "results.md").write_text(table + "\n")
    return table
