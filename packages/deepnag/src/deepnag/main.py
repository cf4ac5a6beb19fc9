"""Command line: parse the flags, build the config, dispatch to train / evaluate / sample / convert.

The original's grammar works as it is (`python main.py` -> `python -m deepnag.main`): flags alone train, and
`--evaluate=CHECKPOINT` evaluates. The same jobs are also verbs: `train`, `evaluate CHECKPOINT`,
`sample CHECKPOINT`, `convert SRC DST`. A CHECKPOINT is one of our files, a run folder (its last.pt), the
latest run of a name (`run:DeepNAG-synthetic-kinect`), the original's checkpoint-*.tar, or one of the original's
released models by name (`original:DeepNAG/dollar-gds`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from deepnag.config import CONFIG_DIR, PACKAGE_ROOT, Config, make_config
from motionkit.cli import add_config_arguments, add_run_arguments, config_overrides, make_parser, resolve_config_path
from motionkit.errors import CheckpointError, ConfigError, run_cli

VERBS = ("train", "evaluate", "sample", "convert")
# the original's flag spellings that differ from our field names (options.py; --epoch is its README's spelling)
ALIASES = {"dataset": ["--dataset-name"], "epochs": ["--epoch"], "critic_iters": ["--deepgan-critic-iters"],
           "gp_lambda": ["--deepgan-lambda"], "checkpoint_every": ["--checkpoint-frequency"]}
DESCRIPTION = "DeepNAG (non-adversarial gesture generation with soft-DTW) and DeepGAN (WGAN-GP)."
EXAMPLES = {
    "main": [
        "python -m deepnag.main --model=DeepNAG --dataset=synthetic-kinect        # train (short CPU config)",
        "python -m deepnag.main --model=DeepNAG --dataset=dollar-gds --use-tensorboard=1   # the original's command",
        "python -m deepnag.main --model=DeepNAG --dataset=synthetic-kinect --resume   # continue the latest run",
        "python -m deepnag.main --evaluate=original:DeepNAG/dollar-gds            # the original's released model",
        "python -m deepnag.main --evaluate=run:DeepNAG-synthetic-kinect --metrics    # the latest run of that name",
        "python -m deepnag.main sample original:DeepNAG/jk2017-kinect --num-samples 10 --out samples/",
        "python -m deepnag.main convert checkpoint-best.tar deepnag-dollar-gds.pt",
    ],
    "train": ["python -m deepnag.main train --model=DeepGAN --dataset=synthetic-pen --epochs=100 --run-name=gan"],
    "evaluate": ["python -m deepnag.main evaluate pretrained/deepnag-synthetic-pen.pt --metrics"],
    "sample": ["python -m deepnag.main sample pretrained/deepnag-synthetic-kinect.pt --num-samples 10 --out out/"],
    "convert": ["python -m deepnag.main convert pretrained_models/DeepNAG/dollar-gds/checkpoint-best.tar ours.pt"],
}


CHECKPOINT_HELP = ("a checkpoint file (ours or the original's .tar), a run folder, run:<run name> (its latest run) "
                   "or original:<DeepNAG|DeepGAN>/<dollar-gds|jk2017-kinect> (the original's released model)")


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_config_arguments(parser.add_argument_group("config (every field of deepnag.config.Config)"), Config,
                         aliases=ALIASES)
    add_run_arguments(parser)
    return parser


def build_parser(verb: str = "main") -> argparse.ArgumentParser:
    """The parser of the original grammar ("main") or of one verb."""
    prog = "deepnag" if verb == "main" else f"deepnag {verb}"
    p = make_parser(prog, DESCRIPTION + ("\n\n" + __doc__.split("\n\n")[1] if verb == "main" else ""), EXAMPLES[verb])
    if verb in ("main", "evaluate"):
        if verb == "main":
            p.add_argument("--evaluate", metavar="CHECKPOINT", help="evaluate CHECKPOINT instead of training: "
                           + CHECKPOINT_HELP)
        else:
            p.add_argument("checkpoint", metavar="CHECKPOINT", help=CHECKPOINT_HELP)
        p.add_argument("--metrics", action="store_true", help="also print the recogniser / soft-DTW table")
        p.add_argument("--metrics-subjects", type=int, help="with --metrics: only the first N template subjects")
        p.add_argument("--no-show", action="store_true",
                       help="files only: do not open the original's views in windows when a display is there")
    if verb == "sample":
        p.add_argument("checkpoint", metavar="CHECKPOINT", help=CHECKPOINT_HELP)
        p.add_argument("--num-samples", type=int, default=10, help="generated gestures per class (default 10)")
        p.add_argument("--out", required=True, help="output folder (samples.npz and the data set's own files)")
        p.add_argument("--formats", default="npz,native", help="npz, native or both (default npz,native)")
    if verb == "convert":
        p.add_argument("src", help="a checkpoint (the original's checkpoint-*.tar, or original:<name>)")
        p.add_argument("dst", help="where to write it in our format")
    return _common(p)


def _checkpoint_path(text: str, log_dir: str | None = None) -> str:
    """A run folder means its last.pt; `run:NAME` the latest run called NAME (or NAME-2, ...) under
    <log_dir>/deepnag."""
    if text.startswith("run:"):
        from motionkit.runfolder import latest_run_dir

        name, root = text[len("run:"):], Path(log_dir or "runs") / "deepnag"
        folder = latest_run_dir(root.parent, "deepnag", name)
        if folder is None:
            raise CheckpointError(f"{text}: no run called {name!r} under {root}")
        text = str(folder)
    path = Path(text)
    if not path.exists() and (PACKAGE_ROOT / path).exists():
        path = PACKAGE_ROOT / path  # `pretrained/...` (the shipped files) from anywhere
    if path.is_dir():
        if (path / "last.pt").is_file():
            return str(path / "last.pt")
        if (path / "run.json").is_file():
            raise CheckpointError(f"{path}: this run has written no checkpoint yet (it failed or is still running: "
                                  "see its run.json)")
        raise CheckpointError(f"{path}: a folder without last.pt (not a run folder)")
    return str(path) if path.exists() else text


def check_device(name: str | None) -> None:
    """A --device this machine cannot use is one line before any file is read or written (every verb)."""
    import torch

    from motionkit.training.device import resolve_device

    device = resolve_device(name)
    if device.type == "meta" or (device.type == "mps" and not torch.backends.mps.is_available()):
        raise ConfigError(f"device {name!r} cannot run deepnag on this machine (use --device cpu or cuda)")


def train_config(args: argparse.Namespace) -> Config:
    """Defaults -> YAML (--config, else configs/<dataset>.yaml) -> flags. With --resume the run's own saved
    config.yaml is the YAML, so a resumed run continues with its settings unless a flag changes one."""
    overrides = config_overrides(args, Config)
    cfg = make_config(resolve_config_path(args.config, CONFIG_DIR), overrides)
    if args.resume is not None:
        from motionkit.runfolder import resolve_run_dir

        run_dir, _ = resolve_run_dir(cfg.log_dir, "deepnag", cfg.resolved_run_name(), args.resume)
        saved = run_dir / "config.yaml"
        if saved.is_file():
            _check_not_empty(saved)
            cfg = make_config(saved, overrides)
        elif not saved.exists():
            cfg = _config_of_checkpoint(run_dir, overrides) or cfg
    return cfg


def _check_not_empty(saved: Path) -> None:
    """An emptied config.yaml would resume with the defaults (another data set, other widths): one line."""
    import yaml

    try:
        empty = yaml.safe_load(saved.read_bytes()) in (None, {})
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return  # make_config names what is wrong with it
    if empty:
        raise ConfigError(f"{saved}: holds no settings (an empty file); the run's settings are also stored in its "
                          "last.pt: delete the empty config.yaml to resume with them, or start a new run")


def _config_of_checkpoint(run_dir: Path, overrides: dict) -> Config | None:
    """A run folder whose config.yaml was deleted resumes with the settings its checkpoint stores (said so), not
    with the defaults or --config, which may describe other weights. None: no checkpoint (the run starts over)."""
    from motionkit.config import load_config
    from motionkit.training import load_checkpoint

    newest = sorted(run_dir.glob("ckpt_*.pt"))
    path = run_dir / "last.pt" if (run_dir / "last.pt").is_file() else (newest[-1] if newest else None)
    if path is None:
        return None
    stored = load_checkpoint(path).get("extra", {}).get("config")
    if not isinstance(stored, dict):
        raise CheckpointError(f"{path}: stores no config, and {run_dir / 'config.yaml'} is gone; the run's settings "
                              "are unknown: start a new run without --resume")
    known = {k: v for k, v in stored.items() if k in Config.__dataclass_fields__}
    cfg = load_config(Config, None, {**known, **{k: v for k, v in overrides.items() if v is not None}})
    from deepnag.train import MUTABLE_ON_RESUME
    from motionkit.config import config_to_dict

    now = config_to_dict(cfg)
    for key, old in known.items():  # the check config.yaml would have made: the weights fix these settings
        if key not in MUTABLE_ON_RESUME and now.get(key) != old:
            raise ConfigError(f"{path}: --resume with a changed {key} ({old!r} -> {now.get(key)!r}) does not fit "
                              "the saved weights; drop the change, or start a new run without --resume")
    print(f"{run_dir / 'config.yaml'}: missing; resuming with the settings stored in {path.name}")
    return cfg


def main(argv=None) -> int:
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    verb = argv[0] if argv and argv[0] in VERBS else "main"
    args = build_parser(verb).parse_args(argv[1:] if verb != "main" else argv)
    overrides = config_overrides(args, Config)
    check_device(overrides.get("device"))
    if verb == "evaluate" or (verb == "main" and args.evaluate):
        from deepnag.evaluate import evaluate

        if args.metrics_subjects is not None and not args.metrics:
            raise ConfigError("--metrics-subjects limits the --metrics table; pass --metrics too (or drop it)")
        if args.metrics_subjects is not None and args.metrics_subjects < 1:
            raise ConfigError(f"--metrics-subjects must be >= 1 (got {args.metrics_subjects}); leave it out for all")
        checkpoint = _checkpoint_path(args.checkpoint if verb == "evaluate" else args.evaluate, args.log_dir)
        evaluate(checkpoint, overrides, metrics=args.metrics, max_subjects=args.metrics_subjects,
                 show=not args.no_show)
    elif verb == "sample":
        from deepnag.sample import sample

        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise ConfigError(f"sample: --out {args.out} is a file; --out names the folder to write into")
        formats = tuple(f.strip() for f in args.formats.split(","))
        if not formats or set(formats) - {"npz", "native"}:
            raise ConfigError(f"sample: --formats must be npz, native or npz,native (got {args.formats!r})")
        if args.num_samples < 1:
            raise ConfigError(f"sample: --num-samples must be >= 1 (got {args.num_samples})")
        for path in sample(_checkpoint_path(args.checkpoint, args.log_dir), args.num_samples, args.out, overrides,
                           formats):
            print(f"wrote {path}")
    elif verb == "convert":
        from deepnag.models import load_checkpoint_any, load_generator
        from motionkit.training import save_checkpoint

        if Path(args.dst).is_dir():
            raise ConfigError(f"convert: {args.dst} is a folder; give the file to write, e.g. "
                              f"{Path(args.dst) / 'ours.pt'}")
        src = _checkpoint_path(args.src, args.log_dir)
        load_generator(src, "cpu", overrides.get("dataset"), overrides.get("resample_n"))  # its weights fit its sizes
        state = load_checkpoint_any(src, overrides.get("dataset"), overrides.get("resample_n"))
        print(f"wrote {save_checkpoint(args.dst, state)} ({state['extra']['config']['model']}, "
              f"{state['extra']['config']['dataset']})")
    else:
        from deepnag.train import train

        train(train_config(args), resume=args.resume)
    return 0


def cli() -> None:
    from motionkit.training.ddp import exit_process  # (torch: imported only when the run has ended)

    exit_process(run_cli(main))


if __name__ == "__main__":
    cli()
