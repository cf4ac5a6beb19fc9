"""Command line: ``python -m nads_spade.main <command> --config configs/<name>.yaml [--<option> value ...]``.

Commands: make-synthetic | train-gan | train-nads | evaluate | generate | experiment. Every field of
:class:`nads_spade.config.Config` is also a flag (the original's names: --print_freq, --save_latest_freq,
--save_epoch_freq, --display_freq, --arm_augment_type, --lambda_feat, ...; ``-`` and ``_`` both accepted, so
``--gan-device cuda:0 --net-device cuda:1`` puts the networks on two GPUs like the original).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from motionkit.config import load_config
from motionkit.errors import run_cli
from nads_spade.config import Config

COMMANDS = ("make-synthetic", "train-gan", "train-nads", "evaluate", "generate", "experiment")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nads_spade", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=COMMANDS)
    p.add_argument("--config", default=None, help="YAML file (configs/paper_384.yaml, configs/cpu_small.yaml)")
    for f in dataclasses.fields(Config):
        names = [f"--{f.name}"] + ([f"--{f.name.replace('_', '-')}"] if "_" in f.name else [])
        p.add_argument(*names, dest=f.name, default=None, metavar="V", help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)}
    cfg = load_config(Config, args.config, overrides)
    if args.command == "make-synthetic":
        from nads_spade.data.synthetic import make_synthetic

        root = make_synthetic(cfg)
        print(f"synthetic in-cabin set written to {root} (train, val, test_wide)")
    elif args.command == "train-gan":
        from nads_spade.train_gan import train_gan

        train_gan(cfg)
    elif args.command == "train-nads":
        from nads_spade.train_nads import train_nads

        train_nads(cfg)
    elif args.command == "evaluate":
        from nads_spade.evaluate import evaluate_command

        print(json.dumps(evaluate_command(cfg), indent=2))
    elif args.command == "generate":
        from nads_spade.evaluate import generate

        print(f"generated images in {generate(cfg)}")
    elif args.command == "experiment":
        from nads_spade.experiment import run_experiment

        print(run_experiment(cfg))
    return 0


def cli() -> None:
    sys.exit(run_cli(main))


if __name__ == "__main__":
    sys.exit(run_cli(main))
