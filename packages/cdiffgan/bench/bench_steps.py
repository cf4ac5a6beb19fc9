"""Iterations/s of a t1 (Mix-StAGE GAN) iteration and of a DiffGAN iteration at paper sizes, side by side:

  plain : fp32 eager, the original's inner loop (torch SGD on a copy of z, 100 Python steps through autograd),
          the frozen trunk recomputed twice per G step with drifting BatchNorm (as the original)
  ours  : bf16 autocast, closed-form ("fused") inner loop without autograd, frozen trunk features and G_src
          pseudo labels cached once per step (one-off cost printed separately)

The iterations alternate D and G steps (the coin flip has p=0.5, so this is the expected mix). The batches are
random tensors of the real shapes (data loading is not timed). Prints the ratios and the implied wall time of a
whole five-speaker paper run (t1 20x3000 + four DiffGAN steps of 20x200 iterations).

    python packages/cdiffgan/bench/bench_steps.py --device cpu --t1-iters 4 --tn-iters 2
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import time
from pathlib import Path

import torch

from cdiffgan.config import Config
from cdiffgan.models import build_generator
from cdiffgan.models.diffgan import StyleDiffGAN
from cdiffgan.models.discriminator import VelocityPatchD
from cdiffgan.train import GanParts, diffgan_d_step, diffgan_g_step, t1_d_step, t1_g_step, trunk_eval


def fake_batch(B, cfg, device, L=12):
    dur = torch.full((B, L), 64 // L)
    dur[:, -1] += 64 - dur.sum(1)
    P = 2 * (52 - len(cfg.mask))
    b = {"audio": torch.randn(B, 1, 64, 64), "tokens": torch.randint(1000, cfg.vocab_size, (B, L)),
         "durations": dur, "counts": torch.full((B,), L), "pose": torch.randn(B, 64, P),
         "style": torch.arange(B) % 3, "labels": torch.randint(cfg.num_clusters, (B, 64))}
    b = {k: v.to(device) for k, v in b.items()}
    b["target"] = b["pose"].clone()
    return b


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_t1(cfg, device, iters, G0, D0):
    G, D = copy.deepcopy(G0).to(device), copy.deepcopy(D0).to(device)
    parts = GanParts(cfg, G, D, G.parameters())
    b = fake_batch(cfg.batch_size, cfg, device)
    G.train()
    t1_g_step(cfg, parts, b, device)                      # warm-up
    t1_d_step(cfg, parts, b, device)
    sync(device)
    t = time.perf_counter()
    for i in range(iters):
        (t1_d_step if i % 2 else t1_g_step)(cfg, parts, b, device)
    sync(device)
    return iters / (time.perf_counter() - t)


def bench_tn(cfg, device, iters, G0, D0):
    model = StyleDiffGAN(copy.deepcopy(G0).to(device)).to(device)
    D = copy.deepcopy(D0).to(device)
    parts = GanParts(cfg, model.G, D, [p for p in model.G.parameters() if p.requires_grad])
    B = cfg.batch_size_tn
    b = fake_batch(B, cfg, device)
    rows = torch.arange(B)
    pivot = B - B // 3
    model.train()
    cache, setup = None, 0.0
    if cfg.cache_frozen:
        trunk_eval(model.G)
        sync(device)
        t = time.perf_counter()
        ctx = torch.autocast(device.type, torch.bfloat16) if cfg.bf16 else torch.autocast(device.type, enabled=False)
        with torch.no_grad(), ctx:
            cache = {"h": model.G.trunk(b), "pseudo": model.pseudo_labels(b).float()}
        sync(device)
        setup = time.perf_counter() - t
    diffgan_g_step(cfg, model, parts, b, pivot, rows, cache, device)     # warm-up
    sync(device)
    t = time.perf_counter()
    for i in range(iters):
        fn = diffgan_d_step if i % 2 else diffgan_g_step
        fn(cfg, model, parts, b, pivot, rows, cache, device)
    sync(device)
    return iters / (time.perf_counter() - t), setup


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--t1-iters", type=int, default=10)
    ap.add_argument("--tn-iters", type=int, default=4)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    torch.manual_seed(0)
    base = Config()                                   # paper sizes: C=256, K=8, S=25, 100 inner steps
    plain = dataclasses.replace(base, bf16=False, inner_loop="autograd", cache_frozen=False)
    ours = dataclasses.replace(base, bf16=True, inner_loop="analytic", cache_frozen=True)
    G0 = build_generator(base)
    D0 = VelocityPatchD(G0.P)
    n_params = sum(p.numel() for p in G0.parameters())
    print(f"device {device} ({torch.get_num_threads()} CPU threads), generator {n_params / 1e6:.1f} M params")
    res = {"device": str(device), "threads": torch.get_num_threads()}
    res["t1_plain"] = bench_t1(plain, device, a.t1_iters, G0, D0)
    res["t1_ours"] = bench_t1(ours, device, a.t1_iters, G0, D0)
    res["tn_plain"], _ = bench_tn(plain, device, a.tn_iters, G0, D0)
    res["tn_ours"], res["tn_ours_cache_setup_s"] = bench_tn(ours, device, a.tn_iters, G0, D0)
    print(f"{'':<22}{'plain fp32 eager':>18}{'ours':>12}{'ratio':>8}")
    for k, name in (("t1", "t1 Mix-StAGE it/s"), ("tn", "DiffGAN step it/s")):
        r = res[f"{k}_ours"] / res[f"{k}_plain"]
        res[f"{k}_ratio"] = r
        print(f"{name:<22}{res[f'{k}_plain']:>18.3f}{res[f'{k}_ours']:>12.3f}{r:>7.2f}x")
    for mode in ("plain", "ours"):
        hours = (20 * 3000 / res[f"t1_{mode}"] + 4 * 20 * 200 / res[f"tn_{mode}"]) / 3600
        res[f"paper_run_hours_{mode}"] = hours
        print(f"implied five-speaker paper run ({mode}): {hours:.1f} h (training iterations only)")
    print(f"ours: one-off cache of trunk features + pseudo labels per step: {res['tn_ours_cache_setup_s']:.2f} s")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
