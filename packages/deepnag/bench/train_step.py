"""One DeepNAG training step (forward + loss + backward + Adam step, batch 64), ours vs the original's design.

    python packages/deepnag/bench/train_step.py [--batch 64] [--steps 3] [--device cpu|cuda] [--skip-per-pair]

Sizes are JK2017's: T = 64 points, F = 63 features, 14 classes, 560 samples (9 steps per epoch).
Three implementations of the same loss, on the same generator (nn.GRU 128/256/512, as the original):

* ours: motionkit.softdtw.pairwise_soft_dtw over the same-class pairs of a boolean mask; the pairs index
  the two sets directly (no gathered copies, no cost tensors). Timed twice: with the generator in float32
  (the original's arithmetic) and with `--precision bf16` (the generator's GRUs under a bfloat16 autocast,
  float32 head and loss), which is what the training loop runs with that flag.
* original, per pair: what the issue calls "per-pair soft-DTW with a numba kernel per call": a Python loop
  over the same-class pairs, each building its (64, 64) cost matrix in torch and calling a Numba soft-DTW
  (Cuturi-Blondel forward and E-matrix backward, written here) once.
* original, batched dense: what DeepNAG's code does on CPU: gather the pairs into (P, 64, F) copies, build
  the dense (P, 64, 64) cost tensor in torch, one Numba call parallel over pairs (pytorch-softdtw-cuda's
  CPU path).

Printed: ms per step, steps/s, epoch time for JK2017, and ratios. Random data in [-1, 1] with balanced
labels stands in for the normalised set (the loss cost does not depend on the values).
"""

from __future__ import annotations

import argparse
import math
import time

import motionkit  # noqa: F401  (before torch: sets GOMP_SPINCOUNT, see motionkit/__init__.py)

# isort: split
import numba
import numpy as np
import torch

from deepnag.losses import deepnag_loss, direction_vectors, resample_loss
from deepnag.models import DeepNAGNet

# ------------------------------------------------------------------ a Numba soft-DTW in the original's style


@numba.njit(cache=True)
def _sdtw_forward_one(D, gamma, R):
    N, M = D.shape
    R[:, :] = np.inf
    R[0, 0] = 0.0
    for i in range(1, N + 1):
        for j in range(1, M + 1):
            r0, r1, r2 = -R[i - 1, j - 1] / gamma, -R[i - 1, j] / gamma, -R[i, j - 1] / gamma
            rmax = max(max(r0, r1), r2)
            rsum = np.exp(r0 - rmax) + np.exp(r1 - rmax) + np.exp(r2 - rmax)
            R[i, j] = D[i - 1, j - 1] - gamma * (np.log(rsum) + rmax)


@numba.njit(cache=True)
def _sdtw_backward_one(D, R, gamma, E):
    N, M = D.shape
    Dp = np.zeros((N + 2, M + 2))
    Dp[1:N + 1, 1:M + 1] = D
    E[:, :] = 0.0
    E[N + 1, M + 1] = 1.0
    R[:, M + 1] = -np.inf
    R[N + 1, :] = -np.inf
    R[N + 1, M + 1] = R[N, M]
    for j in range(M, 0, -1):
        for i in range(N, 0, -1):
            if np.isinf(R[i, j]):
                R[i, j] = -np.inf
            a = np.exp((R[i + 1, j] - R[i, j] - Dp[i + 1, j]) / gamma)
            b = np.exp((R[i, j + 1] - R[i, j] - Dp[i, j + 1]) / gamma)
            c = np.exp((R[i + 1, j + 1] - R[i, j] - Dp[i + 1, j + 1]) / gamma)
            E[i, j] = E[i + 1, j] * a + E[i, j + 1] * b + E[i + 1, j + 1] * c


@numba.njit(parallel=True, cache=True)
def _sdtw_forward_batch(D, gamma, R):
    for b in numba.prange(D.shape[0]):
        _sdtw_forward_one(D[b], gamma, R[b])


@numba.njit(parallel=True, cache=True)
def _sdtw_backward_batch(D, R, gamma, E):
    for b in numba.prange(D.shape[0]):
        _sdtw_backward_one(D[b], R[b], gamma, E[b])


class NumbaSoftDTW(torch.autograd.Function):
    """Soft-DTW of dense costs D (B, N, M) -> (B,), Numba on CPU (float64), as pytorch-softdtw-cuda's CPU path."""

    @staticmethod
    def forward(ctx, D, gamma):
        Dn = D.detach().cpu().double().numpy()
        B, N, M = Dn.shape
        R = np.empty((B, N + 2, M + 2))
        _sdtw_forward_batch(Dn, gamma, R) if B > 1 else _sdtw_forward_one(Dn[0], gamma, R[0])
        ctx.save_for_backward(D)
        ctx.R, ctx.gamma = R, gamma
        return torch.as_tensor(R[:, N, M], dtype=D.dtype, device=D.device)

    @staticmethod
    def backward(ctx, grad):
        (D,) = ctx.saved_tensors
        Dn = D.detach().cpu().double().numpy()
        E = np.empty_like(ctx.R)
        R = ctx.R.copy()
        _sdtw_backward_batch(Dn, R, ctx.gamma, E) if len(Dn) > 1 else _sdtw_backward_one(Dn[0], R[0], ctx.gamma, E[0])
        N, M = Dn.shape[1:]
        gD = torch.as_tensor(E[:, 1:N + 1, 1:M + 1], dtype=D.dtype, device=D.device)
        return grad[:, None, None] * gD, None


def _cost(a, b, dist):
    """Dense frame costs (..., N, M): squared Euclidean, or 1 - cos for direction vectors."""
    if dist == "sqeuclidean":
        return (a[..., :, None, :] - b[..., None, :, :]).pow(2).sum(-1)
    an = torch.nn.functional.normalize(a, dim=-1, eps=1e-8)
    bn = torch.nn.functional.normalize(b, dim=-1, eps=1e-8)
    return 1 - an @ bn.transpose(-1, -2)


def _aggregate(d, same):
    """The class-aware average Hausdorff aggregation of deepnag.losses.class_aware_ahd."""
    ab, ba = d.min(dim=1).values, d.min(dim=0).values
    w = same.to(d.dtype)
    cnt = w.sum(1)
    return (0.5 * ((w @ ab) / cnt + (w @ ba) / cnt)).sum()


def ahd_per_pair(a, b, labels, dist, gamma):
    same = labels[:, None] == labels[None, :]
    ii, jj = same.nonzero(as_tuple=True)
    vals = torch.stack([NumbaSoftDTW.apply(_cost(a[i], b[j], dist)[None], gamma)[0] for i, j in zip(ii.tolist(),
                                                                                                    jj.tolist())])
    d = torch.full(same.shape, math.inf, dtype=vals.dtype).index_put((ii, jj), vals)
    return _aggregate(d, same)


def ahd_batched_dense(a, b, labels, dist, gamma):
    same = labels[:, None] == labels[None, :]
    ii, jj = same.nonzero(as_tuple=True)
    vals = NumbaSoftDTW.apply(_cost(a[ii], b[jj], dist), gamma)  # (P, N, M) dense costs, one call
    d = torch.full(same.shape, math.inf, dtype=vals.dtype).index_put((ii, jj), vals)
    return _aggregate(d, same)


def original_loss(ahd, real1, real2, fake1, fake2, labels, gamma=0.1):
    terms = []
    for dist, prep in (("sqeuclidean", lambda t: t), ("cosine", direction_vectors)):
        r1, r2, f1, f2 = map(prep, (real1, real2, fake1, fake2))
        realism = ahd(r1, f1, labels, dist, gamma)
        with torch.no_grad():
            spread_real = ahd(r1, r2, labels, dist, gamma)
        terms.append(realism + (ahd(f1, f2.detach(), labels, dist, gamma) - spread_real).abs())
    return {"loss": (terms[0] + terms[1] + resample_loss(fake1)) / 3}


# ------------------------------------------------------------------------------------------------ timing


def time_steps(loss_fn, args, device, steps, warmup=1, bf16=False):
    torch.manual_seed(0)
    C, T, F, L = 14, 64, 63, 32
    G = DeepNAGNet(C, F).to(device)
    opt = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0.5, 0.9))
    labels = (torch.arange(args.batch) % C).to(device)
    real1 = torch.rand(args.batch, T, F, device=device) * 2 - 1
    real2 = torch.rand(args.batch, T, F, device=device) * 2 - 1
    times, cpu_times, value = [], [], None
    for k in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            fake1 = G(torch.randn(args.batch, T, L, device=device), labels)
            with torch.no_grad():
                fake2 = G(torch.randn(args.batch, T, L, device=device), labels)
        loss = loss_fn(real1, real2, fake1, fake2, labels)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if k >= warmup:
            times.append(time.perf_counter() - t0)
            cpu_times.append(time.process_time() - c0)
        value = float(loss.detach())
    return float(np.median(times)), float(np.median(cpu_times)), value


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip-per-pair", action="store_true", help="skip the slow per-pair baseline")
    args = p.parse_args()
    device = torch.device(args.device)
    impls = {"ours (masked pairwise soft-DTW)": (deepnag_loss, False),
             "ours, --precision bf16": (deepnag_loss, True)}
    # the generator's forward/backward alone (a trivial loss): the cost every implementation shares
    impls["generator only (shared part)"] = (lambda r1, r2, f1, f2, y: {"loss": f1.square().mean()}, False)
    if device.type == "cpu":  # the Numba baselines are CPU kernels
        impls["original, batched dense (Numba prange)"] = (lambda *a: original_loss(ahd_batched_dense, *a), False)
        if not args.skip_per_pair:
            impls["original, per-pair Numba calls"] = (lambda *a: original_loss(ahd_per_pair, *a), False)
    steps_per_epoch = math.ceil(560 / args.batch)
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch {args.batch}, T=64, F=63, 14 classes; "
          f"JK2017 epoch = {steps_per_epoch} steps")
    results = {}
    for name, (fn, bf16) in impls.items():
        sec, cpu, value = time_steps(fn, args, device, args.steps, bf16=bf16)
        results[name] = (sec, cpu)
        print(f"  {name:<40} {1000 * sec:8.1f} ms/step (CPU time {1000 * cpu:8.1f} ms)  {1 / sec:6.2f} steps/s  "
              f"JK2017 epoch {steps_per_epoch * sec:7.2f} s  (loss {value:.6g})")
    gen = results.pop("generator only (shared part)")
    for name, (_sec, cpu) in results.items():
        if "bf16" not in name:
            print(f"  loss part (step - generator only) of {name}: {1000 * (cpu - gen[1]):.1f} ms CPU time")
    for ours_name in ("ours (masked pairwise soft-DTW)", "ours, --precision bf16"):
        ours = results[ours_name]
        for name, (sec, cpu) in results.items():
            if not name.startswith("ours"):
                print(f"  speed-up of {ours_name} over {name}: {sec / ours[0]:.2f}x wall, "
                      f"{cpu / ours[1]:.2f}x CPU time")
    print("  (same loss value on the float32 lines = the three implementations compute the same loss; the bf16 "
          "line differs in the last digits)")


if __name__ == "__main__":
    main()
