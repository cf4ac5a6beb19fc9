"""Command line of Diverse Sampling: parse, build the config, dispatch. The original's commands run as they are.

The original's grammar (``--exp_name`` picks ``configs/<exp_name>.yaml``; ``--is_train=1`` trains, ``--is_load=1``
restores ``--model_path`` or ``./ckpt/pretrained/<exp_name>.pth`` and evaluates it, or with ``--is_train=1``
fine-tunes it) and a command word for the other jobs. Every config field is a flag; ``--config NAME|PATH``,
``--resume [RUN]``, ``--device``, ``--seed``, ``--run-name``, ``--log-dir`` mean what they mean in every package.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from diverse_sampling import compat
from diverse_sampling.config import CONFIG_DIR, ORIGINAL_DATA_DIR, PACKAGE, Config
from motionkit.cli import add_config_arguments, add_run_arguments, config_overrides, make_parser, resolve_config_path
from motionkit.config import load_config
from motionkit.errors import ConfigError, run_cli

COMMANDS = ("train", "evaluate", "predict", "convert", "make-synthetic", "build-derived", "train-classifier")
EXAMPLES = [
    "python -m diverse_sampling.main --exp_name=h36m_t2 --is_load=1 --model_path=ckpt/pretrained/h36m_t2.pth",
    "python -m diverse_sampling.main --exp_name=h36m_t1 --is_train=1          # train: a new run folder",
    "python -m diverse_sampling.main --exp_name=h36m_t1 --is_train=1 --resume # continue the latest h36m_t1 run",
    "python -m diverse_sampling.main train --exp_name=test_small_t1 --epochs 3 --device cpu",
    "python -m diverse_sampling.main evaluate --exp_name=h36m_t2              # the latest h36m_t2 run",
    "python -m diverse_sampling.main predict --exp_name=h36m_t2 --model_path=ckpt/pretrained/h36m_t2.pth "
    "--history my_poses.npy --units mm",
    "python -m diverse_sampling.main convert --exp_name=h36m_t2 --model_path=ckpt/pretrained/h36m_t2.pth",
    "python -m diverse_sampling.main make-synthetic --exp_name=synth_h36m_short_t1",
    "python -m diverse_sampling.main build-derived --exp_name=h36m_t1",
    "python -m diverse_sampling.main train-classifier --exp_name=h36m_t2",
    "python -m diverse_sampling.main_classifier --exp_name=h36m_t2   # FID/ACC of the released model",
]
JOB_HELP = {
    "train": "train the config's stage (t1 CVAE or t2 sampler) in a new run folder",
    "evaluate": "APD/ADE/FDE/MMADE/MMFDE (+ FID/ACC) of --model_path (default: the latest run of --run-name)",
    "predict": "K futures of --history (your own poses) from --model_path",
    "convert": "write the authors' --model_path .pth in our checkpoint format (--out)",
    "make-synthetic": "write the synthetic stand-in data set (the real file format) under --data_root",
    "build-derived": "build (or check) the candidate pool, multimodal index and valid-angle bounds",
    "train-classifier": "train the GRU action classifier of FID / ACC",
}


def _bit(text: str) -> int:
    """The original's 0/1 flags (its ``type=bool`` took any non-empty string as true; here 0/false is false)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes"):
        return 1
    if value in ("0", "false", "no", ""):
        return 0
    raise argparse.ArgumentTypeError(f"{text!r} is not 0 or 1")


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("diverse_sampling.main", __doc__.split("\n\n")[0], EXAMPLES)
    p.add_argument("command", nargs="?", choices=COMMANDS, metavar="COMMAND",
                   help="; ".join(f"{k}: {v}" for k, v in JOB_HELP.items()))
    orig = p.add_argument_group("the original's flags")
    orig.add_argument("--is_train", "--is-train", type=_bit, default=0, metavar="0|1", help="1: train")
    orig.add_argument("--is_load", "--is-load", type=_bit, default=0, metavar="0|1",
                      help="1: restore --model_path (default ./ckpt/pretrained/<exp_name>.pth); evaluate it, or "
                           "fine-tune it with --is_train=1")
    orig.add_argument("--is_debug", "--is-debug", type=_bit, default=0, metavar="0|1",
                      help="1: 200 windows per epoch, validation every epoch on the first 90 test windows")
    orig.add_argument("--model_path", "--model-path", default="", metavar="PATH",
                      help="a checkpoint: ours (.pt) or the authors' released .pth")
    job = p.add_argument_group("job options")
    job.add_argument("--history", metavar="FILE", help="predict: .npy/.npz of observed poses (T >= t_his frames)")
    job.add_argument("--units", choices=("m", "mm"), default="m", help="predict: units of --history (default m)")
    job.add_argument("--out", metavar="PATH", help="predict: output folder; convert: output file")
    job.add_argument("--no-render", action="store_true", help="evaluate/predict: skip the overlay plot and GIF")
    job.add_argument("--frames-per-take", type=int, default=0, help="make-synthetic: frames per take (0: default)")
    job.add_argument("--takes-per-action", type=int, default=2, help="make-synthetic: takes per action")
    job.add_argument("--flat-layout", action="store_true",
                     help="make-synthetic: pickle-free '<subject>/<action>' keys instead of positions_3d")
    job.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config field (same as --KEY VALUE; repeatable)")
    for name in ("make-synthetic", "build-derived", "train-classifier"):
        job.add_argument(f"--{name}", action="store_true", help=f"same as the command {name}")
    add_config_arguments(p.add_argument_group("config (configs/<exp_name>.yaml, then these flags)"), Config)
    add_run_arguments(p)
    return p


def make_config(args: argparse.Namespace) -> Config:
    """The config file (``--config``, else ``configs/<exp_name>.yaml``) with the command line's overrides."""
    if args.config:
        path = resolve_config_path(args.config, CONFIG_DIR)
    else:
        path = resolve_config_path(args.exp_name or Config.exp_name, CONFIG_DIR)
    overrides = config_overrides(args, Config)
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        overrides[key.strip()] = value
    if args.is_debug:  # the original's debug mode: a short epoch, validation every epoch on a few windows
        for key, value in (("windows_per_epoch", 200), ("eval_every", 1), ("max_test_windows", 90)):
            overrides.setdefault(key, value)
    return load_config(Config, path, overrides)


def jobs_of(args: argparse.Namespace) -> list[str]:
    """The jobs to run, in order: the command word, then the original's and the older flags."""
    jobs = [args.command] if args.command else []
    flagged = [("make-synthetic", args.make_synthetic), ("build-derived", args.build_derived),
               ("train-classifier", args.train_classifier), ("train", args.is_train),
               ("evaluate", args.is_load and not args.is_train)]
    return jobs + [name for name, on in flagged if on and name not in jobs]


def model_path_of(args: argparse.Namespace, cfg: Config, job: str) -> str:
    """--model_path; else the latest run of this name (evaluate, predict) or the original's
    ./ckpt/pretrained/<exp_name>.pth (--is_load=1 as the original, convert, and when there is no run)."""
    if args.model_path:
        return args.model_path
    searches_runs = job in ("evaluate", "predict") and not args.is_load
    if searches_runs:
        from diverse_sampling.paths import latest_run_checkpoint

        found = latest_run_checkpoint(cfg, cfg.resolved_run_name())
        if found is not None:
            return str(found)
    path = compat.pretrained_path(cfg.exp_name)
    if not path.is_file():
        raise ConfigError(f"{job}: no --model_path and no {path} (the original's released file)"
                          + (f" nor a run {cfg.resolved_run_name()!r} under {cfg.runs_root()}"
                             if searches_runs else ""))
    return str(path)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cfg = make_config(args)
    jobs = jobs_of(args)
    if not jobs:
        print("nothing to do: pass --is_train=1, --is_load=1 or a command (" + ", ".join(COMMANDS) + "); see --help")
        return 0
    if any(j != "make-synthetic" for j in jobs):
        from motionkit.training.device import resolve_device

        resolve_device(cfg.device)  # a device this machine lacks is one line, before any work
    main_rank = int(os.environ.get("RANK", "0")) == 0
    for job in jobs:
        if job in ("train", "train-classifier") or main_rank:
            run_job(job, args, cfg)
    return 0


def run_job(job: str, args: argparse.Namespace, cfg: Config) -> None:
    if job == "make-synthetic":
        from diverse_sampling.data.synthetic import make_synthetic

        root = args.data_root or (f"runs/{PACKAGE}/data/{cfg.dataset}" if args.dataset or
                                  cfg.data_root == ORIGINAL_DATA_DIR else cfg.data_root)  # never over ./dataset
        out = make_synthetic(cfg.dataset, root, args.frames_per_take, args.takes_per_action, cfg.seed,
                             legacy=not args.flat_layout)
        print(f"wrote synthetic {cfg.dataset}-like data set: {out}")
    elif job == "build-derived":
        from diverse_sampling.data.derived import load_or_build_pool, load_or_build_valid_angles

        pool = load_or_build_pool(cfg)
        bounds = load_or_build_valid_angles(cfg)
        print(f"candidate pool {pool.dirs.shape}, {100 * pool.coverage():.1f}% of training start frames have "
              f"candidates; {len(bounds)} valid-angle bounds")
    elif job == "train-classifier":
        from diverse_sampling.classifier import train_classifier

        train_classifier(cfg, resume=args.resume)
    elif job == "train":
        from diverse_sampling.train import train

        train(cfg, resume=args.resume, init_from=model_path_of(args, cfg, job) if args.is_load else None)
    elif job == "evaluate":
        from diverse_sampling.evaluate import run_evaluation

        run_evaluation(cfg, model_path_of(args, cfg, job), render_outputs=not args.no_render)
    elif job == "predict":
        from diverse_sampling.predict import predict

        if not args.history:
            raise ConfigError("predict: --history FILE (your observed poses, .npy/.npz) is required")
        out_dir = args.out or cfg.runs_root() / f"predict_{Path(args.history).stem}"
        if Path(out_dir).exists() and not Path(out_dir).is_dir():
            raise ConfigError(f"predict: --out {out_dir} is a file; --out names the folder to write futures.npz into")
        out = predict(cfg, model_path_of(args, cfg, job), args.history, out_dir, args.units, not args.no_render)
        print(f"wrote {out}")
    elif job == "convert":
        from diverse_sampling.convert import convert_checkpoint

        print(f"wrote {convert_checkpoint(cfg, model_path_of(args, cfg, job), args.out)}")


def cli() -> None:
    from motionkit.training.ddp import exit_process  # skips exit-time gloo teardown under torchrun

    exit_process(run_cli(main))


if __name__ == "__main__":
    cli()
