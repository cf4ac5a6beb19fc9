"""Command line: parse the flags, load the config, dispatch to training or evaluation.

    python -m deepnag.main --model=DeepNAG --dataset=synthetic-kinect [--epochs N] [--use-tensorboard=1]
    python -m deepnag.main --evaluate=pretrained/deepnag-synthetic-kinect.pt [--metrics]

The flags are the original README's (`--dataset-name` is accepted as an alias of `--dataset`).
"""

from __future__ import annotations

import argparse

from deepnag.config import DATASETS, MODELS, PRECISIONS, make_config
from motionkit.errors import run_cli


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepnag", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    p.add_argument("--model", choices=MODELS, help="DeepNAG (default) or DeepGAN")
    p.add_argument("--dataset", "--dataset-name", dest="dataset", choices=DATASETS,
                   help="data set (default synthetic-kinect; with --evaluate: the checkpoint's)")
    p.add_argument("--data-root", help="folder of the real data set (default: download to datasets/cache)")
    p.add_argument("--config", help="YAML config (default configs/<dataset>.yaml)")
    p.add_argument("--epochs", type=int, help="DeepNAG: epochs; DeepGAN: generator steps")
    p.add_argument("--use-tensorboard", type=int, choices=(0, 1), help="1: write TensorBoard events")
    p.add_argument("--evaluate", metavar="CHECKPOINT", help="render real vs synthetic samples of a checkpoint")
    p.add_argument("--metrics", action="store_true", help="with --evaluate: print the recogniser/soft-DTW table")
    p.add_argument("--metrics-subjects", type=int, help="with --metrics: use only the first N template subjects")
    p.add_argument("--latent-dim", type=int)
    p.add_argument("--resample-n", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--precision", choices=PRECISIONS,
                   help="DeepNAG generator arithmetic: fp32 (default) or bf16 autocast (faster on bf16 hardware)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default cuda when available)")
    p.add_argument("--run-name", help="run folder under --log-dir (default <model>-<dataset>; same name resumes)")
    p.add_argument("--log-dir", help="default logs")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {
        "model": args.model, "dataset": args.dataset, "data_root": args.data_root, "epochs": args.epochs,
        "use_tensorboard": args.use_tensorboard, "latent_dim": args.latent_dim, "resample_n": args.resample_n,
        "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed, "device": args.device,
        "precision": args.precision,
        "run_name": args.run_name, "log_dir": args.log_dir,
    }
    if args.evaluate:
        from deepnag.evaluate import evaluate

        evaluate(args.evaluate, overrides, metrics=args.metrics, max_subjects=args.metrics_subjects)
        return 0
    from deepnag.train import train

    train(make_config(args.config, overrides))
    return 0


def cli() -> None:
    from motionkit.training.ddp import exit_process  # (torch: imported only when the run has ended)

    exit_process(run_cli(main))


if __name__ == "__main__":
    cli()
