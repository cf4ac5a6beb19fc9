"""Command line of cdiffgan (parse, load the config, dispatch).

    python -m cdiffgan.main make-synthetic [--out datasets/cache/pats_synthetic]
    python -m cdiffgan.main continual --config configs/paper.yaml [-k_shot 28 -replay no-replay-fs ...]
    python -m cdiffgan.main evaluate RUN
    python -m cdiffgan.main render RUN --n 20 [--step 2]
    python -m cdiffgan.main generate RUN --audio speech.wav --speaker oliver [--transcript words.csv]
    python -m cdiffgan.main compare RUN/step1_oliver/final.pt RUN/step4_ytch_prof/final.pt --speaker oliver --out x.gif
    python -m cdiffgan.main featurize --audio speech.wav --out features.h5 [--transcript words.csv]

Every Config field is also an option of `continual` (`--k_shot 7` or the original's `-k_shot 7`).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys

from motionkit.errors import run_cli

from .config import Config


def _dashes(argv):
    """The original's single-dash long flags (-k_shot 7) -> --k_shot 7."""
    return [("-" + a) if re.fullmatch(r"-[A-Za-z][A-Za-z0-9_]+", a) else a for a in argv]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cdiffgan", description="C-DiffGAN continual co-speech gesture generation")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("make-synthetic", help="write the synthetic PATS-layout data set")
    s.add_argument("--out", default="datasets/cache/pats_synthetic")
    s.add_argument("--speakers", default="oliver,maher,chemistry,ytch_prof,lec_evol")
    s.add_argument("--n_train", type=int, default=4)
    s.add_argument("--n_dev", type=int, default=1)
    s.add_argument("--n_test", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("continual", help="train t1..tN (resumes an interrupted run)")
    c.add_argument("--config", default=None)
    for f in dataclasses.fields(Config):
        c.add_argument(f"--{f.name}", default=None)
    e = sub.add_parser("evaluate", help="step x speaker tables, CSV and plot of a run")
    e.add_argument("run")
    r = sub.add_parser("render", help="prediction beside ground truth for test windows")
    r.add_argument("run")
    r.add_argument("--n", type=int, default=20)
    r.add_argument("--step", type=int, default=None)
    r.add_argument("--speaker", default=None)
    r.add_argument("--out", default=None)
    r.add_argument("--device", default="cpu")
    g = sub.add_parser("generate", help="gestures for a new recording")
    g.add_argument("run")
    g.add_argument("--audio", required=True)
    g.add_argument("--speaker", required=True)
    g.add_argument("--transcript", default=None)
    g.add_argument("--out", default=None)
    g.add_argument("--device", default="cpu")
    cp = sub.add_parser("compare", help="one test window rendered by several step checkpoints (final.pt)")
    cp.add_argument("finals", nargs="+")
    cp.add_argument("--titles", default=None, help="comma-separated, one per checkpoint")
    cp.add_argument("--speaker", required=True)
    cp.add_argument("--window", type=int, default=0)
    cp.add_argument("--out", required=True)
    fz = sub.add_parser("featurize", help="audio (+ transcript) -> PATS h5 features")
    fz.add_argument("--audio", required=True)
    fz.add_argument("--out", required=True)
    fz.add_argument("--transcript", default=None)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(_dashes(sys.argv[1:] if argv is None else argv))
    if args.cmd == "make-synthetic":
        from .data.synthetic import make_synthetic
        out = make_synthetic(args.out, tuple(args.speakers.split(",")), args.n_train, args.n_dev, args.n_test,
                             seed=args.seed)
        print(f"wrote synthetic PATS-layout data to {out}")
    elif args.cmd == "continual":
        from motionkit.config import format_config, load_config

        from .continual import continual
        overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)}
        cfg = load_config(Config, args.config, overrides)
        print(format_config(cfg))
        if cfg.threads > 0:
            import torch
            torch.set_num_threads(cfg.threads)
        continual(cfg, env=_dist_env())
    elif args.cmd == "evaluate":
        from .evaluate import summarise
        summarise(args.run)
    elif args.cmd == "render":
        from .render import render_run
        render_run(args.run, args.n, args.step, [args.speaker] if args.speaker else None, args.out,
                   device=args.device)
    elif args.cmd == "generate":
        from .render import generate
        generate(args.run, args.audio, args.speaker, args.transcript, args.out, args.device)
    elif args.cmd == "compare":
        from .render import render_compare
        titles = args.titles.split(",") if args.titles else [str(f) for f in args.finals]
        render_compare(args.finals, titles, args.speaker, args.out, args.window)
    elif args.cmd == "featurize":
        from .data.featurize import featurize
        print(f"wrote {featurize(args.audio, args.out, args.transcript)}")
    return 0


def _dist_env():
    """torchrun sets WORLD_SIZE: then train with DDP (gloo on CPU, nccl on CUDA)."""
    import os
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from motionkit.training.ddp import init_distributed
        return init_distributed()
    return None


if __name__ == "__main__":
    sys.exit(run_cli(main))


def _entry() -> int:
    return run_cli(main)
