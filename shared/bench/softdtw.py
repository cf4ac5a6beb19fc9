"""Soft-DTW benchmark: motionkit.softdtw against pysdtw, forward + backward, side by side in one run.

    python shared/bench/softdtw.py                 # CPU, and CUDA when available
    python shared/bench/softdtw.py --device cpu --repeats 5
    python shared/bench/softdtw.py --device cpu --threads 1 --clock cpu   # per-core work, robust to load

Each size: B pairs of length N = M, feature size D, gamma = 0.1, squared Euclidean cost, inputs requiring
grad; the time is forward + ``.sum().backward()`` (median of ``--repeats`` runs after warm-up, so Numba's JIT
compilation is not counted). ``--clock cpu`` reports process CPU time instead of wall time: on a shared,
loaded machine it measures the work done rather than the waiting (use it with ``--threads 1``, since
spin-waiting thread pools also burn CPU time).
"Gcell/s" is B * N * M / time / 1e9 (each cell visited forward and backward).
pysdtw is optional (``pip install pysdtw``); missing -> "not installed". A peer that errors (e.g. a length
limit) prints "fails".
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from motionkit.softdtw import soft_dtw

CPU_SIZES = [(64, 64, 2), (128, 128, 3), (32, 512, 3), (128, 512, 3), (64, 1024, 3)]
GPU_SIZES = [(64, 64, 2), (128, 128, 3), (128, 512, 3), (64, 1024, 3), (16, 2048, 3), (4, 8192, 3)]


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


CLOCK = time.perf_counter


def time_fn(fn, device: str, repeats: int, warmup: int = 1) -> float:
    """Median time in ms of fn() (after ``warmup`` calls), by CLOCK (wall or process CPU time)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = CLOCK()
        fn()
        _sync(device)
        times.append((CLOCK() - t0) * 1e3)
    return statistics.median(times)


def make_ours(x, y, gamma):
    def run():
        x.grad = y.grad = None
        soft_dtw(x, y, gamma=gamma).sum().backward()

    return run


def make_pysdtw(x, y, gamma, device):
    try:
        import pysdtw
    except ImportError:
        return None
    sdtw = pysdtw.SoftDTW(gamma=gamma, use_cuda=device == "cuda")

    def run():
        x.grad = y.grad = None
        sdtw(x, y).sum().backward()

    return run


def bench(device: str, sizes, repeats: int, gamma: float) -> None:
    clock = "wall" if CLOCK is time.perf_counter else "process CPU time"
    where = f"threads={torch.get_num_threads()}" if device == "cpu" else torch.cuda.get_device_name()
    print(f"\n[{device}] forward+backward, gamma={gamma}, float32, median of {repeats}, {clock}, {where}")
    print(f"{'B':>4} {'N=M':>5} {'D':>2} | {'ours ms':>9} {'Gcell/s':>8} | {'pysdtw ms':>10} | {'ratio':>7}")
    for B, N, D in sizes:
        g = torch.Generator().manual_seed(0)
        x = torch.rand(B, N, D, generator=g).to(device).requires_grad_(True)
        y = torch.rand(B, N, D, generator=g).to(device).requires_grad_(True)
        ours = time_fn(make_ours(x, y, gamma), device, repeats)
        gcells = B * N * N / (ours * 1e-3) / 1e9
        peer = make_pysdtw(x, y, gamma, device)
        if peer is None:
            peer_s, ratio_s = "not installed", "-"
        else:
            try:
                pt = time_fn(peer, device, repeats)
                peer_s, ratio_s = f"{pt:10.2f}", f"{pt / ours:6.1f}x"
            except Exception as e:  # noqa: BLE001 - a failing peer is a result, not a crash
                peer_s, ratio_s = "fails", f"({type(e).__name__})"
                if device == "cuda":
                    torch.cuda.empty_cache()
        print(f"{B:>4} {N:>5} {D:>2} | {ours:9.2f} {gcells:8.3f} | {peer_s:>10} | {ratio_s:>7}", flush=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--gamma", type=float, default=0.1)
    p.add_argument("--sizes", default=None, help="override, e.g. '64x64x2,128x128x3' (B x N x D)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for both (torch, ours, numba)")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = p.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        import os

        import numba

        torch.set_num_threads(args.threads)
        os.environ["MOTIONKIT_SOFTDTW_THREADS"] = str(args.threads)
        numba.set_num_threads(args.threads)
    custom = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")] if args.sizes else None
    if args.device in ("cpu", "all"):
        bench("cpu", custom or CPU_SIZES, args.repeats, args.gamma)
    if args.device in ("cuda", "all"):
        if torch.cuda.is_available():
            bench("cuda", custom or GPU_SIZES, args.repeats, args.gamma)
        else:
            print("\n[cuda] no CUDA device: skipped")


if __name__ == "__main__":
    main()
