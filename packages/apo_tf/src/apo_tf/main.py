"""Command line: ``python -m apo_tf.main {make-data,train,infer,report,vis} ID [--flags]``.

Keeps the original's commands (``train.py gan_id --max_steps``, ``generate_inferences.py inference_id``,
``h3m_report.py``/``eva_report.py``) as subcommands. Only parses, loads the config and dispatches.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads fight TF's pool: 10x slower L-BFGS-B calls
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import sys  # noqa: E402

from motionkit.errors import run_cli  # noqa: E402


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="apo_tf", description=__doc__.splitlines()[0])
    p.add_argument("--home", default=None, help="models/, data/, results.hdf5 (default $APO_TF_HOME or runs/apo_tf)")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a pose-prior GAN")
    t.add_argument("gan_id")
    t.add_argument("--max_steps", type=float, default=None, help="global steps (critic + generator updates)")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--strategy", choices=["default", "mirrored"], default=None)
    t.add_argument("--wgan_type", choices=["weight_clipped", "gradient_penalized"], default=None)
    t.add_argument("--iters_per_call", type=int, default=None)
    t.add_argument("--data_root", default=None)
    for name in ("infer", "report", "vis"):
        q = sub.add_parser(name, help={"infer": "fit poses to 2D observations", "report": "print error tables",
                                       "vis": "GIF of an inferred sequence beside the ground truth"}[name])
        q.add_argument("inference_id")
        q.add_argument("--data_root", default=None)
        q.add_argument("--max_sequences", type=int, default=None, help="only the first N eval sequences")
    inf = sub.choices["infer"]
    inf.add_argument("--overwrite", action="store_true", help="redo sequences already in results.hdf5")
    inf.add_argument("--solver", choices=["fast", "lbfgsb"], default=None)
    inf.add_argument("--dtype", choices=["float32", "float64"], default=None)
    inf.add_argument("--tol", type=float, default=None)
    vis = sub.choices["vis"]
    vis.add_argument("--key", default=None, help="example key (default: the first)")
    vis.add_argument("--out", default=None, help="GIF path")
    mk = sub.add_parser("make-data", help="write a synthetic dataset in the converted-H3.6M layout")
    mk.add_argument("size", choices=["synth", "synth_tiny"])
    mk.add_argument("--out", default=None)
    mk.add_argument("--seed", type=int, default=0)
    mk.add_argument("--pixel_noise", type=float, default=0.0, help="Gaussian 2D noise, pixels")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from apo_tf.config import home_dir, load_gan_config, load_inference_config

    home = home_dir(args.home)
    if args.command == "make-data":
        from apo_tf.data import synthetic

        out = synthetic.write(args.out or home / "data" / f"{args.size}.hdf5", args.size, args.seed, args.pixel_noise)
        print(f"wrote {out}")
        return 0
    if args.command == "train":
        from apo_tf.train import train

        over = {"max_steps": int(args.max_steps) if args.max_steps is not None else None, "seed": args.seed,
                "strategy": args.strategy, "wgan_type": args.wgan_type, "iters_per_call": args.iters_per_call,
                "data_root": args.data_root}
        train(load_gan_config(args.gan_id, over), home)
        return 0
    over = {"data_root": args.data_root, "max_sequences": args.max_sequences}
    if args.command == "infer":
        over.update(solver=args.solver, dtype=args.dtype, tol=args.tol)
    cfg = load_inference_config(args.inference_id, over)
    if args.command == "infer":
        from apo_tf.infer import run_inference

        run_inference(cfg, home, overwrite=args.overwrite)
    elif args.command == "report":
        from apo_tf.evaluate import mean_pose_baseline, report
        from apo_tf.train import load_generator

        report(cfg, home)
        gan_dataset = load_generator(home, cfg.gan_id)[0].dataset
        base = mean_pose_baseline(cfg, gan_dataset, home)
        print("mean-pose baseline (Total, frames): " + ", ".join(f"{k} {v:.2f}" for k, v in base.items()))
    else:
        from apo_tf.viz import render

        print(f"wrote {render(cfg, home, args.key, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
