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
    """Rows of [real image | its condition | G(condition) | augmented condition | G(augmented condition)]."""
    torch.manual_seed(cfg.seed)
    G = load_generator(g_ckpt, cfg)
    ds = build_dataset(cfg, "train")
    rows = []
    with torch.no_grad():
        for i in range(min(n, len(ds))):
            item = ds[i]
            j = item["joints"][None]
            belt = L.belt_target(item["belt"][None], cfg.image_size)
            aug = augment_arms(j, cfg.arm_augment_type, cfg.image_size, cfg.arm_min_torso_px, cfg.torso_bug,
                               cfg.arm_length_mode)
            c0 = L.condition(j, belt, cfg.image_size, cfg.sigma, cfg.paf_width_cells)
            c1 = L.condition(aug, belt, cfg.image_size, cfg.sigma, cfg.paf_width_cells)
            rows.append(np.concatenate([to_uint8(item["image"]), render_condition(c0[0]), to_uint8(G(c0)[0], (-1, 1)),
                                        render_condition(c1[0]), to_uint8(G(c1)[0], (-1, 1))], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(path)


def _mean_sd(values: list[float]) -> str:
    """'m ± sd' (sample sd; '± n/a' for one value)."""
    m = float(np.mean(values))
    return f"{m:.3f} ± {float(np.std(values, ddof=1)):.3f}" if len(values) > 1 else f"{m:.3f} ± n/a"


def _nads_cfg(cfg, base, prefix: str, seed: int, **changes):
    """One arm of one seed: NADS-Net for experiment_nads_steps steps (or experiment_nads_epochs epochs)."""
    epochs = cfg.experiment_nads_epochs if not cfg.experiment_nads_steps else 10**6
    return dataclasses.replace(base, seed=seed, nads_epochs=epochs, max_steps=cfg.experiment_nads_steps,
                               **changes)


def _arm(c, run) -> dict:
    return {"test_wide": evaluate_nads(c, run["best"], "test"), "val": evaluate_nads(c, run["best"], "val"),
            "best_val_loss": run["best_val"]}


def run_experiment(cfg) -> str:
    """The whole experiment in a new folder ``<log_dir>/nads_spade/<name>-experiment[-N]`` (its training runs sit
    beside it: ``<that name>-s<seed>-baseline``, ``-gan``, ``-s<seed>-augmented``); returns the results table.

    One generator serves every seed (trained once, with the first seed's baseline as its frozen NADS-Net):
    the question is NADS-Net's, and the seeds measure NADS-Net's spread."""
    exp, _ = resolve_run_dir(cfg.log_dir, PACKAGE, cfg.run_name or f"{cfg.name}-experiment", None)
    data = exp / "data"
    base = dataclasses.replace(cfg, synthetic_root=str(data), train_root=str(data / "train"),
                               val_root=str(data / "val"), test_root=str(data / "test_wide"), max_steps=0)
    make_synthetic(base)
    seeds, gan, gan_cfg, per_seed = list(cfg.experiment_seeds), None, None, {}
    for seed in seeds:
        c = _nads_cfg(cfg, base, exp.name, seed, gan_augment=False, run_name=f"{exp.name}-s{seed}-baseline")
        baseline = train_nads(c)
        per_seed[seed] = {"baseline": _arm(c, baseline)}
        if gan is None:
            epochs = cfg.experiment_gan_epochs if not cfg.experiment_gan_steps else 10**6
            gan_cfg = dataclasses.replace(base, niter=epochs, niter_decay=0, max_steps=cfg.experiment_gan_steps,
                                          nads_checkpoint=baseline["best"], run_name=f"{exp.name}-gan")
            gan = train_gan(gan_cfg)
            per_seed[seed]["gan_pose_consistency"] = evaluate_gan(gan_cfg, gan["checkpoint"], baseline["best"],
                                                                  "val")
        c = _nads_cfg(cfg, base, exp.name, seed, gan_augment=True, gan_checkpoint=gan["checkpoint"],
                      run_name=f"{exp.name}-s{seed}-augmented")
        per_seed[seed]["gan_augmented"] = _arm(c, train_nads(c))
    results = {"config": {"image_size": cfg.image_size, "train": len(build_dataset(base, "train")),
                          "test_wide": len(build_dataset(base, "test")), "nads_steps": cfg.experiment_nads_steps,
                          "nads_epochs": cfg.experiment_nads_epochs, "gan_steps": cfg.experiment_gan_steps,
                          "gan_epochs": cfg.experiment_gan_epochs, "arm_augment_type": cfg.arm_augment_type,
                          "seeds": seeds},
               "gan_checkpoint": gan["checkpoint"], "per_seed": per_seed}
    augmented_figure(base, gan["checkpoint"], exp / "augmented_samples.png")
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
    g = [r["gan_pose_consistency"] for r in runs if "gan_pose_consistency" in r]
    ratio = [x["fake_pck_mean"] / x["real_pck_mean"] if x["real_pck_mean"] > 0 else float("nan") for x in g]
    lines += ["", f"Seeds {', '.join(str(s) for s in per_seed)}. GAN pose consistency (val, frozen first-seed baseline "
                  f"NADS-Net): PCK on real {_mean_sd([x['real_pck_mean'] for x in g])}, on G(condition) "
                  f"{_mean_sd([x['fake_pck_mean'] for x in g])} (ratio {_mean_sd(ratio)}), on G(augmented arms) "
                  f"{_mean_sd([x['augmented_fake_pck_mean'] for x in g])}; belt IoU real "
                  f"{_mean_sd([x['real_belt_iou'] for x in g])} / painted {_mean_sd([x['fake_belt_iou'] for x in g])}"]
    return "\n".join(lines)
