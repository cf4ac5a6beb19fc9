"""Command line: ``python -m nads_spade.main <command> [--config NAME|PATH] [--<field> VALUE ...]``.

Commands: make-synthetic | train-gan | train-nads | evaluate | generate | predict | experiment. Every field of
:class:`nads_spade.config.Config` is a typed flag of every command (``--field_name`` or ``--field-name``; the
project's option names such as --print_freq, --niter, --no_TTUR, --lambda_feat, --arm_augment_type), and the
variables of the project's NADS-Net train.py are aliases of train-nads (--num_training_epochs, --batch_size,
--starting_lr, --lr_gamma, --patience, --weight_decay, --pretrained_filename, --num_dataloader_threads,
--include_background_output); GAN/train.py's --batchSize is one of train-gan. The two trainers write a new run
folder ``runs/nads_spade/<name>-gan|-nads[-N]`` per invocation; ``--resume [RUN]`` continues one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from motionkit.cli import add_config_arguments, add_run_arguments, config_overrides, make_parser, resolve_config_path
from motionkit.config import load_config
from motionkit.errors import run_cli
from nads_spade.config import Config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
PROG = "python -m nads_spade.main"

# the project's train.py variable names (NADS-Net_with_PVT/train.py, GAN/train.py's opt.*) -> our fields
NADS_ALIASES = {"nads_epochs": ["--num_training_epochs"], "nads_batch_size": ["--batch_size"],
                "nads_lr": ["--starting_lr"], "plateau_factor": ["--lr_gamma"], "plateau_patience": ["--patience"],
                "nads_weight_decay": ["--weight_decay"], "nads_init": ["--pretrained_filename"],
                "num_workers": ["--num_dataloader_threads"], "heatmap_background": ["--include_background_output"]}
GAN_ALIASES = {"gan_batch_size": ["--batchSize"], "num_workers": ["--nThreads"]}

COMMANDS = {
    "make-synthetic": ("render the synthetic in-cabin data set in the project's layout (train, val, test_wide)",
                       [f"{PROG} make-synthetic --config cpu_small"], {}),
    "train-gan": ("train the SPADE generator and discriminator (GAN/train.py)",
                  [f"{PROG} train-gan --config cpu_small",
                   f"{PROG} train-gan --config project_384 --gan_init_G latest_net_G.pth --gan_init_D "
                   "latest_net_D.pth --nads_checkpoint traditionally_trained_NADS_Net_with_PVT.pth",
                   f"{PROG} train-gan --config cpu_small --resume    # continue the latest cpu_small-gan run"],
                  GAN_ALIASES),
    "train-nads": ("train NADS-Net, optionally painting half of each batch with the generator "
                   "(NADS-Net_with_PVT/train.py)",
                   [f"{PROG} train-nads --config cpu_small --gan_augment 1",
                    f"{PROG} train-nads --config project_384 --pretrained_filename "
                    "traditionally_trained_NADS_Net_with_PVT.pth --gan_checkpoint latest_net_G.pth",
                    "torchrun --standalone --nproc_per_node=4 -m nads_spade.main train-nads --config paper_384"],
                   NADS_ALIASES),
    "evaluate": ("PCK, PAF and belt metrics of a NADS-Net on the test split, and the GAN's pose consistency",
                 [f"{PROG} evaluate --config cpu_small",
                  f"{PROG} evaluate --config project_384 --eval_checkpoint "
                  "traditionally_trained_NADS_Net_with_PVT.pth --test_root my_data/"], {}),
    "generate": ("paint augmented arm poses of the validation set with a generator (PNG rows)",
                 [f"{PROG} generate --config cpu_small", f"{PROG} generate --config project_384 "
                  "--gan_checkpoint latest_net_G.pth"], {}),
    "predict": ("run NADS-Net on your own image or folder: keypoints JSON, PAFs, belt mask and an overlay PNG",
                [f"{PROG} predict cabin.png --config cpu_small",
                 f"{PROG} predict frames/ --config project_384 --eval_checkpoint "
                 "traditionally_trained_NADS_Net_with_PVT.pth --out predictions/"], {}),
    "experiment": ("does GAN arm augmentation help on unseen arm poses? baseline vs augmented over seeds",
                   [f"{PROG} experiment --config cpu_experiment"], {}),
}


def build_parser() -> argparse.ArgumentParser:
    """One subparser per command, each with every config field as a typed flag and an example."""
    parser = make_parser("nads_spade", __doc__.split("\n\n")[0],
                         [ex for _, examples, _ in COMMANDS.values() for ex in examples[:1]])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (text, examples, aliases) in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text, epilog="examples:\n" + "\n".join(
            f"  {e}" for e in examples), formatter_class=parser.formatter_class, allow_abbrev=False)
        if name == "predict":
            p.add_argument("inputs", nargs="+", help="image files or folders of images")
            p.add_argument("--out", default="", help="output folder (default: a new runs/nads_spade/<name>-predict)")
        add_config_arguments(p.add_argument_group("config (every field of nads_spade.config.Config)"), Config,
                             aliases=aliases)
        add_run_arguments(p)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cfg = load_config(Config, resolve_config_path(args.config, CONFIG_DIR), config_overrides(args, Config))
    if cfg.num_threads and args.command != "make-synthetic":
        import torch

        torch.set_num_threads(cfg.num_threads)
    if args.command == "make-synthetic":
        from nads_spade.data.synthetic import make_synthetic

        print(f"synthetic in-cabin set written to {make_synthetic(cfg)} (train, val, test_wide)")
    elif args.command == "train-gan":
        from nads_spade.train_gan import train_gan

        train_gan(cfg, resume=args.resume)
    elif args.command == "train-nads":
        from nads_spade.train_nads import train_nads

        train_nads(cfg, resume=args.resume)
    elif args.command == "evaluate":
        from nads_spade.evaluate import evaluate_command

        print(json.dumps(evaluate_command(cfg), indent=2))
    elif args.command == "generate":
        from nads_spade.evaluate import generate

        print(f"generated images in {generate(cfg)}")
    elif args.command == "predict":
        from nads_spade.predict import predict_command

        print(f"predictions in {predict_command(cfg, args.inputs, args.out)}")
    elif args.command == "experiment":
        from nads_spade.experiment import run_experiment

        print(run_experiment(cfg))
    return 0


def cli() -> None:
    from motionkit.training.ddp import exit_process  # (torch: imported only when the run has ended)

    exit_process(run_cli(main))


if __name__ == "__main__":
    cli()
