"""Benchmarks of Diverse Sampling at the paper's sizes (H36M: 16 nodes, t_his 25, t_pred 100, K = 50).

1. one t1 (CVAE) training iteration, batch 64;
2. one t2 (sampler + frozen decoder, 50 samples per input) training iteration, batch 16;
3. a full evaluation pass (APD/ADE/FDE/MMADE/MMFDE, K = 50) over the synthetic H36M-like test set, and the
   metric part alone side by side with the per-window loop over motionkit.metrics (the reference), as a ratio.

    python packages/diverse_sampling/bench/bench_diverse_sampling.py [--device cpu] [--data-root DIR]
        [--max-windows N] [--iters N]

The synthetic data set is generated into --data-root if it is not there yet.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from diverse_sampling.config import CONFIG_DIR, Config
from diverse_sampling.data.dataset import build_test_set
from diverse_sampling.data.layout import H36M
from diverse_sampling.data.synthetic import make_synthetic
from diverse_sampling.losses import t1_loss, t2_loss
from diverse_sampling.metrics import evaluate_model, window_metrics
from diverse_sampling.models import build_cvae, build_sampler, t2_predict
from motionkit import metrics as mk
from motionkit.config import load_config


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_it(fn, iters: int, device) -> float:
    fn()  # warm-up
    _sync(device)
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return (time.perf_counter() - t) / iters


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--data-root", default="runs/diverse_sampling/data/h36m_synthetic")
    ap.add_argument("--max-windows", type=int, default=0, help="0 = the whole synthetic test set")
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args()
    dev = torch.device(args.device)
    if not (Path(args.data_root) / H36M.filename).is_file():
        make_synthetic("h36m", args.data_root)
    cfg1 = load_config(Config, CONFIG_DIR / "h36m_t1.yaml", {"data_root": args.data_root,
                                                             "max_test_windows": args.max_windows})
    cfg2 = load_config(Config, CONFIG_DIR / "h36m_t2.yaml", {"data_root": args.data_root,
                                                             "max_test_windows": args.max_windows})
    torch.manual_seed(0)
    print(f"device {dev}, torch threads {torch.get_num_threads()}")

    cvae = build_cvae(cfg1).to(dev)
    opt = torch.optim.Adam(cvae.parameters(), lr=1e-3)
    x = (torch.randn(64, cfg1.t_total, 48) * 0.3).to(dev)

    def t1_step():
        pred, mean, logvar = cvae(x)
        loss, _ = t1_loss(pred, x, mean, logvar, cfg1, H36M.node_parents, {"Spine2Hip": [-0.498, 0.498]})
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(cvae.parameters(), 100)
        opt.step()

    s1 = time_it(t1_step, args.iters, dev)
    print(f"t1 iteration (batch 64):            {s1 * 1e3:9.1f} ms  = {1 / s1:7.2f} it/s")

    cvae.eval()
    for p in cvae.parameters():
        p.requires_grad_(False)
    sampler = build_sampler(cfg2).to(dev)
    opt2 = torch.optim.Adam(sampler.parameters(), lr=1e-3)
    x2 = x[:16]

    def t2_step():
        pred, mean, logvar = t2_predict(cvae, sampler, x2[:, :25], cfg2.nk, True)
        loss, _ = t2_loss(pred[:, :, 25:], x2[:, 25:], mean, logvar, cfg2)
        opt2.zero_grad()
        loss.backward()
        opt2.step()

    s2 = time_it(t2_step, max(1, args.iters // 2), dev)
    print(f"t2 iteration (batch 16, K=50):      {s2 * 1e3:9.1f} ms  = {1 / s2:7.2f} it/s  "
          f"(t2/t1 time ratio {s2 / s1:.2f})")

    test = build_test_set(cfg2)
    t = time.perf_counter()
    m = evaluate_model(cfg2, cvae, sampler, test, dev)
    _sync(dev)
    ev = time.perf_counter() - t
    print(f"full evaluation pass, {len(test)} windows x K=50: {ev:8.1f} s = {len(test) / ev:7.1f} windows/s  "
          + " ".join(f"{k} {v:.3f}" for k, v in m.items()))

    # metric part alone: batched (motionkit.metrics.*_batch) vs the per-window loop
    n = min(len(test), 64)
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(n, 50, cfg2.t_pred, 48)).astype(np.float32)
    gts = [test.group_futures(i, cfg2.t_his, cfg2.mm_retarget) for i in range(n)]
    G = max(len(g) for g in gts)
    pad = np.zeros((n, G, cfg2.t_pred, 48), np.float32)
    mask = np.zeros((n, G), bool)
    for i, g in enumerate(gts):
        pad[i, : len(g)], mask[i, : len(g)] = g, True
    t = time.perf_counter()
    window_metrics(torch.from_numpy(pred).to(dev), pad[:, 0], pad, mask)  # motionkit's batched metrics
    vec = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(n):
        mk.apd(pred[i]), mk.ade(pred[i], gts[i][0]), mk.fde(pred[i], gts[i][0])
        mk.mmade(pred[i], gts[i]), mk.mmfde(pred[i], gts[i])
    ref = time.perf_counter() - t
    print(f"metrics only, {n} windows (mean group {np.mean([len(g) for g in gts]):.0f}): vectorised "
          f"{vec:.2f} s vs per-window motionkit loop {ref:.2f} s -> speed-up x{ref / vec:.1f}")


if __name__ == "__main__":
    main()
