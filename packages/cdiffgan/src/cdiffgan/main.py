"""Command line of cdiffgan: parse, load the config, dispatch. ``python -m cdiffgan.main <command> --help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from motionkit.cli import add_config_arguments, add_run_arguments, config_overrides, make_parser, resolve_config_path
from motionkit.errors import run_cli

from .config import Config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
RUN = "runs/cdiffgan/cpu_small_pseudo-align-fs-src_k7_fs1"
EXAMPLES = {
    "make-synthetic": ["python -m cdiffgan.main make-synthetic --out datasets/cache/pats_synthetic"],
    "continual": ["python -m cdiffgan.main continual --config cpu_small",
                  "python -m cdiffgan.main continual --config paper -k_shot 28 -replay no-replay-fs",
                  "python -m cdiffgan.main continual --config cpu_small --resume   # continue the latest run"],
    "train": ["python -m cdiffgan.main train -model JointLateClusterSoftStyle5_G -gan 1 -speaker '[\"oliver\"]' "
              "-save_dir save/cl/t1 -path2data data/pats ...   (the original's train.py line)"],
    "evaluate": [f"python -m cdiffgan.main evaluate {RUN}"],
    "render": [f"python -m cdiffgan.main render {RUN} --n 20 --step 2",
               "python -m cdiffgan.main render -load save/cl/t2/<...>_weights.p -render 20"],
    "generate": [f"python -m cdiffgan.main generate {RUN} --audio speech.wav --speaker maher"],
    "compare": [f"python -m cdiffgan.main compare {RUN}/step2_maher/final.pt {RUN}/step4_ytch_prof/final.pt "
                "--speaker maher --out maher.gif"],
    "featurize": ["python -m cdiffgan.main featurize --audio speech.wav --out features.h5 --transcript words.csv"],
}
HELP = {
    "make-synthetic": "write the synthetic PATS-layout data set",
    "continual": "train t1..tN in a new run folder (or continue one with --resume)",
    "train": "one step with the original's train.py flags, writing the original's save folder",
    "evaluate": "step x speaker tables, CSV and plot of a continual run",
    "render": "prediction beside ground truth for test windows (a run folder, or the original's -load weights.p)",
    "generate": "gestures for a new recording",
    "compare": "one test window rendered by several step checkpoints (final.pt)",
    "featurize": "audio (+ transcript) -> PATS h5 features",
}


def _sub(subs, name: str) -> argparse.ArgumentParser:
    return subs.add_parser(name, help=HELP[name], description=HELP[name], allow_abbrev=False,
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name]))


def build_parser() -> argparse.ArgumentParser:
    p = make_parser("cdiffgan", "C-DiffGAN continual co-speech gesture generation (ICCV 2023).",
                    [e for name in EXAMPLES for e in EXAMPLES[name][:1]])
    subs = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    s = _sub(subs, "make-synthetic")
    s.add_argument("--out", default="datasets/cache/pats_synthetic",
                   help="output folder (PATS layout; an earlier synthetic set there is replaced, any other folder "
                        "refused)")
    s.add_argument("--speakers", default="oliver,maher,chemistry,ytch_prof,lec_evol", help="comma-separated")
    s.add_argument("--n_train", type=int, default=4, help="train intervals per speaker")
    s.add_argument("--n_dev", type=int, default=1, help="dev intervals per speaker")
    s.add_argument("--n_test", type=int, default=1, help="test intervals per speaker")
    s.add_argument("--seed", type=int, default=0, help="random seed of the generator")
    c = _sub(subs, "continual")
    add_config_arguments(c, Config, single_dash=True)
    add_run_arguments(c)
    from .compat_train import add_original_arguments
    add_original_arguments(_sub(subs, "train"))
    e = _sub(subs, "evaluate")
    e.add_argument("run", help="a continual run folder, or a run name (its newest folder under runs/cdiffgan)")
    r = _sub(subs, "render")
    r.add_argument("run", nargs="?", default=None, help="a continual run folder or name (or use -load)")
    r.add_argument("-load", "--load", default=None, help="the original's ..._weights.p (render its keypoints/)")
    r.add_argument("--n", "-render", type=int, default=20, dest="n", help="renders per speaker")
    r.add_argument("--step", type=int, default=None, help="step of the run (default: the last)")
    r.add_argument("--speaker", default=None, help="only this speaker")
    r.add_argument("--out", default=None, help="output folder")
    r.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    g = _sub(subs, "generate")
    g.add_argument("run", help="a continual run folder")
    g.add_argument("--audio", required=True, help="wav/mp3 recording")
    g.add_argument("--speaker", required=True, help="style: a speaker of the run's last step")
    g.add_argument("--transcript", default=None, help="CSV word,start,end (seconds)")
    g.add_argument("--out", default=None, help="output folder")
    g.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    cp = _sub(subs, "compare")
    cp.add_argument("finals", nargs="+", help="step checkpoints (final.pt)")
    cp.add_argument("--titles", default=None, help="comma-separated, one per checkpoint")
    cp.add_argument("--speaker", required=True, help="the speaker whose test window is rendered")
    cp.add_argument("--window", type=int, default=0, help="index of the test window")
    cp.add_argument("--out", required=True, help="output GIF")
    cp.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    fz = _sub(subs, "featurize")
    fz.add_argument("--audio", required=True, help="wav/mp3 recording")
    fz.add_argument("--out", required=True, help="output h5")
    fz.add_argument("--transcript", default=None, help="CSV word,start,end (seconds)")
    return p


def load_cfg(args) -> Config:
    """The config: defaults, then --config (a name in configs/ or a path), then the flags given."""
    from motionkit.config import load_config
    return load_config(Config, resolve_config_path(args.config, CONFIG_DIR), config_overrides(args, Config))


def main(argv=None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd == "make-synthetic":
        from .data.synthetic import write_synthetic
        out = write_synthetic(args.out, tuple(args.speakers.split(",")), args.n_train, args.n_dev, args.n_test,
                              seed=args.seed, replace=True)
        print(f"wrote synthetic PATS-layout data to {out}")
    elif args.cmd == "continual":
        cfg = load_cfg(args)
        from .continual import check_speakers, continual
        check_speakers(cfg)                   # before a run folder exists
        run = continual(cfg, resume=args.resume)
        if run is not None:
            from .evaluate import summarise
            summarise(run)
            if cfg.render_n > 0:
                from motionkit.training.device import resolve_device

                from .render import render_run
                render_run(run, cfg.render_n, device=str(resolve_device(cfg.device)))
    elif args.cmd == "train":
        from .compat_train import run_original_train
        run_original_train(args)
    elif args.cmd == "evaluate":
        from .continual import find_run
        from .evaluate import summarise
        summarise(find_run(args.run))
    elif args.cmd in ("render", "generate", "compare"):
        _inference(args)
    elif args.cmd == "featurize":
        from .data.featurize import featurize
        print(f"wrote {featurize(args.audio, args.out, args.transcript)}")
    return 0


def _inference(args) -> None:
    """render / generate / compare, on a device checked before any checkpoint is read (a bad --device is one
    line about the device, never blamed on the checkpoint)."""
    from motionkit.training.device import resolve_device
    args.device = str(resolve_device(args.device))
    if args.cmd == "render" and args.n < 1:
        from motionkit.errors import ConfigError
        raise ConfigError(f"--n {args.n}: renders per speaker must be >= 1")
    if args.cmd == "render":
        from .render import render_original, render_run
        if args.load:
            render_original(args.load, args.n, device=args.device)
        elif args.run:
            from .continual import find_run
            render_run(find_run(args.run), args.n, args.step, [args.speaker] if args.speaker else None, args.out,
                       device=args.device)
        else:
            from motionkit.errors import ConfigError
            raise ConfigError("render needs a run folder or -load <..._weights.p>")
    elif args.cmd == "generate":
        from .render import generate
        generate(args.run, args.audio, args.speaker, args.transcript, args.out, args.device)
    elif args.cmd == "compare":
        from .render import render_compare
        titles = args.titles.split(",") if args.titles else [str(f) for f in args.finals]
        render_compare(args.finals, titles, args.speaker, args.out, args.window, device=args.device)


def _entry() -> int:
    return run_cli(main)


if __name__ == "__main__":
    from motionkit.training.ddp import exit_process
    exit_process(run_cli(main))
