"""Inference speed: the fast per-frame solver vs the original joint scipy L-BFGS-B, side by side.

    python packages/apo_tf/bench/bench_infer.py [--log-dir runs] --gan_id synth_big [--sequences 4] [--fast64]

Uses the latest GAN run ``<log-dir>/apo_tf/gan-<gan_id>`` (h3m_big architecture; trained for 30k steps there
if missing) and 100-frame synthetic eval sequences (Human3.6M-like camera 55011271, 10 fps). The original
joint L-BFGS-B runs in float32, the fast solver in float32 (and float64 with --fast64); all start from the
original initialisation (z = 0, s = 1.65, phi = x = y = 0) with tol 1e-9. One untimed sequence per solver
traces and compiles first. Prints frames/s (wall and process CPU time), final reprojection losses, the shared
scale, the Procrustes error (mm, reflections allowed, as the original's reports) and ratios.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from apo_tf.config import load_gan_config, load_inference_config  # noqa: E402
from apo_tf.data import registry  # noqa: E402
from apo_tf.evaluate import per_joint_errors  # noqa: E402
from apo_tf.infer import Objective, infer_sequence  # noqa: E402
from apo_tf.models import load_gan  # noqa: E402
from apo_tf.runs import find_run, package_root  # noqa: E402
from apo_tf.train import train  # noqa: E402
from motionkit.errors import CheckpointError  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--log-dir", "--log_dir", dest="log_dir", default=None, help="root of the run folders")
    ap.add_argument("--gan_id", default="synth_big")
    ap.add_argument("--sequences", type=int, default=3)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--fast_iters", type=int, nargs=4, default=None, help="fast solver budgets (see config)")
    ap.add_argument("--fast64", action="store_true", help="also time the fast solver in float64")
    ap.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads (0 = TF default)")
    args = ap.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    root = package_root(args.log_dir)
    try:
        gan_dir = find_run(root, f"gan-{args.gan_id}", need="checkpoint")
    except CheckpointError:
        print(f"no trained {args.gan_id} under {root}: training 30k steps first")
        gan_dir = Path(train(load_gan_config(args.gan_id, {"max_steps": 30_000}), root, verbose=False)["run_dir"])
    gcfg, G, C, step = load_gan(gan_dir)
    seqs = [s for s in registry.load(gcfg.dataset + "_10fps", "eval", root / "data") if len(s.p2) >= args.frames]
    seqs = [registry.Sequence(s.key, s.subject, s.name, s.category, s.camera_id, s.fps, s.p3w[:args.frames],
                              s.p2[:args.frames], s.camera, s.skeleton) for s in seqs[:args.sequences]]
    cfg = load_inference_config("synth_big", {"gan_id": args.gan_id, "fast_iters": args.fast_iters})
    sk = registry.parse_id(gcfg.dataset).skeleton
    objs = {"lbfgsb": Objective(G, C, sk, sk, cfg, tf.float32), "fast": Objective(G, C, sk, sk, cfg, tf.float32)}
    if args.fast64:
        objs["fast64"] = Objective(G, C, sk, sk, cfg, tf.float64)
    for name, obj in objs.items():  # trace and XLA-compile outside the timing (one untimed sequence)
        infer_sequence(obj, seqs[0], name.replace("64", ""))
    rows = {k: [] for k in objs}
    for seq in seqs:
        for name, obj in objs.items():
            t, c = time.perf_counter(), time.process_time()
            r = infer_sequence(obj, seq, name.replace("64", ""))
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            proc = float(per_joint_errors(r["p3w"].astype(float), seq.p3w.astype(float))["proc_error"].mean())
            rows[name].append((len(seq.p2) / wall, r["consistency"], r["iterations"], r["evaluations"], r["scale"],
                               len(seq.p2) / cpu, proc))
    print(f"GAN {args.gan_id} (step {step}, n_z {gcfg.n_z}, {sk}); {len(seqs)} sequences x {args.frames} frames; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'sequence':<28}{'solver':>8}{'fps':>8}{'fps(cpu)':>10}{'final loss':>12}{'iters':>7}{'evals':>7}"
          f"{'scale':>7}{'proc mm':>9}")
    for i, seq in enumerate(seqs):
        for name in objs:
            fps, loss, it, ev, s, cfps, proc = rows[name][i]
            print(f"{seq.name + ' ' + seq.subject:<28}{name:>8}{fps:8.1f}{cfps:10.1f}{loss:12.4e}{it:7d}{ev:7d}"
                  f"{s:7.3f}{proc:9.1f}")
    fps = {k: len(seqs) * args.frames / sum(args.frames / r[0] for r in v) for k, v in rows.items()}
    cfps = {k: len(seqs) * args.frames / sum(args.frames / r[5] for r in v) for k, v in rows.items()}
    loss = {k: sum(r[1] for r in v) for k, v in rows.items()}
    proc = {k: sum(r[6] for r in v) / len(v) for k, v in rows.items()}
    seconds = {k: sum(args.frames / r[0] for r in v) for k, v in rows.items()}
    for k in objs:
        print(f"{k}: {seconds[k]:.1f} s, summed final loss {loss[k]:.4e}, mean Procrustes error {proc[k]:.1f} mm")
    for k in [k for k in objs if k != "lbfgsb"]:
        print(f"{k}: fps (wall) {fps[k]:.1f} vs lbfgsb {fps['lbfgsb']:.1f} -> {fps[k] / fps['lbfgsb']:.1f}x "
              f"(target >= 100 fps); fps (process CPU time) {cfps[k]:.1f} vs {cfps['lbfgsb']:.1f} -> "
              f"{cfps[k] / cfps['lbfgsb']:.1f}x; summed final reprojection loss {loss[k]:.5e} vs "
              f"{loss['lbfgsb']:.5e} ({loss[k] / loss['lbfgsb']:.4f}x)")


if __name__ == "__main__":
    main()
