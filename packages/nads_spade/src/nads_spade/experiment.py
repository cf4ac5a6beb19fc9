"""`experiment`: does pose-driven GAN augmentation help NADS-Net on arm poses it never saw?

1. render the synthetic set (train/val with narrow arm poses, test_wide with raised/stretched arms);
2. train NADS-Net without augmentation (baseline) -> also the frozen NADS-Net of the GAN's extra losses;
3. train the SPADE GAN on the same training set;
4. train NADS-Net with GAN augmentation (arm poses painted on half of each batch), same epochs;
5. evaluate both on test_wide and val: PCK (torso-normalised), belt IoU, loss; GAN pose consistency;
steps 2-5 once per seed of ``experiment_seeds``; the table gives mean ± sd over seeds.
Writes ``results.md`` (the table), ``results.json`` and ``augmented_samples.png`` into the experiment folder.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from motionkit.runfolder import resolve_run_dir
from nads_spade import labels as L
from nads_spade.augment import augment_arms
from nads_spade.data.dataset import build_dataset
from nads_spade.data.synthetic import make_synthetic
from nads_spade.evaluate import evaluate_gan, evaluate_nads
from nads_spade.gallery import render_condition, to_uint8
from nads_spade.models import PACKAGE, load_generator
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


def _mean_sd(values: list[float]) -> str:
    """'m ± sd' (sample sd; '± n/a' for one seed)."""
    m = float(np.mean(values))
    return f"{m:.3f} ± {float(np.std(values, ddof=1)):.3f}" if len(values) > 1 else f"{m:.3f} ± n/a"


def _one_seed(cfg, base, prefix: str, seed: int) -> dict:
    """Baseline NADS-Net, the GAN (frozen baseline for its extra losses), augmented NADS-Net; their metrics."""
    baseline_cfg = dataclasses.replace(base, seed=seed, gan_augment=False, nads_epochs=cfg.experiment_nads_epochs,
                                       run_name=f"{prefix}-s{seed}-baseline")
    baseline = train_nads(baseline_cfg)
    gan_cfg = dataclasses.replace(base, seed=seed, niter=cfg.experiment_gan_epochs, niter_decay=0,
                                  nads_checkpoint=baseline["best"], run_name=f"{prefix}-s{seed}-gan")
    gan = train_gan(gan_cfg)
    aug_cfg = dataclasses.replace(baseline_cfg, gan_augment=True, gan_checkpoint=gan["checkpoint"],
                                  run_name=f"{prefix}-s{seed}-augmented")
    augmented = train_nads(aug_cfg)
    out = {"gan_pose_consistency": evaluate_gan(gan_cfg, gan["checkpoint"], baseline["best"], "val"),
           "gan_checkpoint": gan["checkpoint"]}
    for name, run, c in (("baseline", baseline, baseline_cfg), ("gan_augmented", augmented, aug_cfg)):
        out[name] = {"test_wide": evaluate_nads(c, run["best"], "test"), "val": evaluate_nads(c, run["best"], "val"),
                     "best_val_loss": run["best_val"]}
    return out


def run_experiment(cfg) -> str:
    """The whole experiment in a new folder ``<log_dir>/nads_spade/<name>-experiment[-N]`` (its training runs sit
    beside it as ``<that name>-s<seed>-{baseline,gan,augmented}``); returns the results table."""
    exp, _ = resolve_run_dir(cfg.log_dir, PACKAGE, cfg.run_name or f"{cfg.name}-experiment", None)
    data = exp / "data"
    base = dataclasses.replace(cfg, synthetic_root=str(data), train_root=str(data / "train"),
                               val_root=str(data / "val"), test_root=str(data / "test_wide"), max_steps=0)
    make_synthetic(base)
    per_seed = {seed: _one_seed(cfg, base, exp.name, seed) for seed in cfg.experiment_seeds}
    results = {"config": {"image_size": cfg.image_size, "train": len(build_dataset(base, "train")),
                          "test_wide": len(build_dataset(base, "test")), "nads_epochs": cfg.experiment_nads_epochs,
                          "gan_epochs": cfg.experiment_gan_epochs, "arm_augment_type": cfg.arm_augment_type,
                          "seeds": list(cfg.experiment_seeds)},
               "per_seed": per_seed}
    first = per_seed[cfg.experiment_seeds[0]]
    augmented_figure(base, first["gan_checkpoint"], exp / "augmented_samples.png")
    (exp / "results.json").write_text(json.dumps(results, indent=2, default=str))
    table = results_table(cfg, per_seed)
    (exp / "results.md").write_text(table + "\n")
    return table


def results_table(cfg, per_seed: dict) -> str:
    """Mean ± sd over seeds of PCK and belt IoU (test_wide and val) for both arms, and the GAN's consistency."""
    a = cfg.pck_alpha
    runs = list(per_seed.values())
    lines = [f"| NADS-Net trained | PCK@{a} test_wide | belt IoU test_wide | PCK@{a} val | belt IoU val |",
             "|---|---|---|---|---|"]
    for name in ("baseline", "gan_augmented"):
        cells = [_mean_sd([r[name][split][metric] for r in runs])
                 for split, metric in (("test_wide", "pck_mean"), ("test_wide", "belt_iou"), ("val", "pck_mean"),
                                       ("val", "belt_iou"))]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    g = [r["gan_pose_consistency"] for r in runs]
    ratio = [x["fake_pck_mean"] / x["real_pck_mean"] if x["real_pck_mean"] > 0 else float("nan") for x in g]
    lines += ["", f"Seeds {', '.join(str(s) for s in per_seed)}. GAN pose consistency (val, frozen baseline "
                  f"NADS-Net): PCK on real {_mean_sd([x['real_pck_mean'] for x in g])}, on G(condition) "
                  f"{_mean_sd([x['fake_pck_mean'] for x in g])} (ratio {_mean_sd(ratio)}), on G(augmented arms) "
                  f"{_mean_sd([x['augmented_fake_pck_mean'] for x in g])}; belt IoU real "
                  f"{_mean_sd([x['real_belt_iou'] for x in g])} / painted {_mean_sd([x['fake_belt_iou'] for x in g])}"]
    return "\n".join(lines)
