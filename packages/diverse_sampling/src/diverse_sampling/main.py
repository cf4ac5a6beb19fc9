"""Command line of Diverse Sampling: parse, load the config, dispatch. Flags of the original are kept.

  python -m diverse_sampling.main --make-synthetic [--dataset h36m|humaneva] [--data-root DIR]
  python -m diverse_sampling.main --exp_name=h36m_t1 --is_train=1 [--data-root DIR] [--epochs N] [--device cpu]
  python -m diverse_sampling.main --exp_name=h36m_t2 --is_train=1 [--t1_checkpoint runs/.../last.pt]
  python -m diverse_sampling.main --exp_name=h36m_t2 --is_load=1 --model_path=runs/diverse_sampling/h36m_t2/last.pt
  python -m diverse_sampling.main --exp_name=h36m_t1 --build-derived        (candidate pool, index, valid angles)
  python -m diverse_sampling.main --exp_name=h36m_t1 --train-classifier     (GRU classifier for FID / ACC)
Any config field: --set key=value (repeatable). Multi-GPU: torchrun --nproc_per_node=N -m diverse_sampling.main ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diverse_sampling.config import CONFIG_DIR, Config
from motionkit.config import format_config, load_config
from motionkit.errors import ConfigError, run_cli


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="diverse_sampling.main", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp_name", default="h36m_t1", help="config name: h36m_t1|h36m_t2|humaneva_t1|humaneva_t2|...")
    p.add_argument("--config", default=None, help="YAML file (default configs/<exp_name>.yaml)")
    p.add_argument("--is_train", type=int, default=0, help="1: train the stage of the config")
    p.add_argument("--is_load", type=int, default=0, help="1: evaluate --model_path")
    p.add_argument("--model_path", default=None, help="checkpoint to evaluate (t1 or t2)")
    p.add_argument("--data-root", "--data_root", dest="data_root", default=None)
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default cuda if available)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--run-dir", "--run_dir", dest="run_dir", default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--t1_checkpoint", default=None, help="t2: the trained CVAE (default runs/.../<dataset>_t1)")
    p.add_argument("--max-test-windows", dest="max_test_windows", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config field")
    p.add_argument("--make-synthetic", action="store_true", help="write the synthetic stand-in data set")
    p.add_argument("--dataset", default=None, help="h36m | humaneva (with --make-synthetic)")
    p.add_argument("--frames-per-take", type=int, default=0)
    p.add_argument("--takes-per-action", type=int, default=2)
    p.add_argument("--flat-layout", action="store_true", help="synthetic: pickle-free '<subject>/<action>' keys")
    p.add_argument("--build-derived", action="store_true", help="build candidate pool, index and valid angles")
    p.add_argument("--train-classifier", action="store_true", help="train the FID/ACC action classifier")
    p.add_argument("--no-render", action="store_true", help="skip the overlay plot / GIF")
    return p.parse_args(argv)


def make_config(args: argparse.Namespace) -> Config:
    path = Path(args.config) if args.config else CONFIG_DIR / f"{args.exp_name}.yaml"
    if not path.is_file():
        known = sorted(f.stem for f in CONFIG_DIR.glob("*.yaml"))
        raise ConfigError(f"{path}: no such config; --exp_name must be one of {known}")
    overrides = {k: getattr(args, k) for k in ("data_root", "device", "epochs", "run_dir", "seed", "t1_checkpoint",
                                               "max_test_windows")}
    if args.dataset and args.make_synthetic:
        overrides["dataset"] = args.dataset
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        overrides[key.strip()] = value
    if args.dataset and args.make_synthetic and args.data_root is None:
        overrides["data_root"] = f"runs/diverse_sampling/data/{args.dataset}"  # not the exp_name's data set
    return load_config(Config, path, overrides)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = make_config(args)

    if args.make_synthetic:
        from diverse_sampling.data.synthetic import make_synthetic

        out = make_synthetic(cfg.dataset, cfg.data_root, args.frames_per_take, args.takes_per_action, cfg.seed,
                             legacy=not args.flat_layout)
        print(f"wrote synthetic {cfg.dataset}-like data set: {out}")
        if not (args.build_derived or args.is_train or args.is_load or args.train_classifier):
            return 0

    import torch

    from motionkit.training.ddp import cleanup, init_distributed

    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {cfg.device}: CUDA is not available here")
    env = init_distributed(device=cfg.device or None)
    if env.is_main:
        print(format_config(cfg))
    try:
        if args.build_derived:
            from diverse_sampling.data.derived import load_or_build_pool, load_or_build_valid_angles

            pool = load_or_build_pool(cfg)
            bounds = load_or_build_valid_angles(cfg)
            print(f"candidate pool {pool.dirs.shape}, {100 * pool.coverage():.1f}% of training start frames have "
                  f"candidates; {len(bounds)} valid-angle bounds in {cfg.resolved_derived_dir()}")
        if args.train_classifier:
            from diverse_sampling.classifier import train_classifier

            train_classifier(cfg, env.device)
        if args.is_train:
            from diverse_sampling.train import train

            train(cfg, env)
        if args.is_load:
            from diverse_sampling.evaluate import run_evaluation

            if not args.model_path:
                raise ConfigError("--is_load=1 needs --model_path=<checkpoint>")
            if env.is_main:
                run_evaluation(cfg, args.model_path, env.device, render_outputs=not args.no_render)
        if not (args.build_derived or args.train_classifier or args.is_train or args.is_load):
            print("nothing to do: pass --is_train=1, --is_load=1, --build-derived, --train-classifier or "
                  "--make-synthetic")
    finally:
        cleanup(env)
    return 0


def cli() -> None:
    sys.exit(run_cli(main))


if __name__ == "__main__":
    cli()
