"""Command line of apo_tf: parse, load the config, dispatch. ``python -m apo_tf.main COMMAND [ID] [--flags]``.

The original's scripts are subcommands with their arguments (``train.py gan_id --max_steps``,
``generate_inferences.py inference_id [-o]``, ``h3m_report.py`` / ``eva_report.py inference_id``,
``gan_generator_vis.py gan_id``, ``vis_sequence.py inference_id [-e example_id]``); ``infer``, ``report``, ``vis``
are the same commands under the verbs every motionzoo package uses. Every config field is a flag.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads fight TF's pool: 10x slower L-BFGS-B calls
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402

from apo_tf.config import CONFIG_DIR, GanConfig, InferenceConfig  # noqa: E402
from motionkit.cli import add_config_arguments, add_run_arguments, config_overrides, make_parser  # noqa: E402
from motionkit.errors import ConfigError, MotionzooError, run_cli  # noqa: E402

P = "python -m apo_tf.main"
COMMANDS = {  # name: (help, config class, examples)
    "train": ("train a pose-prior GAN (the original's train.py)", GanConfig,
              [f"{P} train synth_tiny --max_steps 3000", f"{P} train h3m_big --max_steps=1e7",
               f"{P} train synth_big --resume            # continue the latest gan-synth_big run"]),
    "infer": ("fit every eval sequence through the GAN (the original's generate_inferences.py)", InferenceConfig,
              [f"{P} infer synth_tiny", f"{P} infer h3m_big --solver fast", f"{P} infer h3m_big --resume"]),
    "report": ("error tables of an inference run (the original's h3m_report.py / eva_report.py)",
               InferenceConfig, [f"{P} report synth_tiny", f"{P} report h3m_big --run infer-h3m_big-2"]),
    "vis": ("GIF of an inferred sequence beside its ground truth (the original's vis_sequence.py)",
            InferenceConfig, [f"{P} vis synth_tiny", f"{P} vis h3m_big -e 'subjects__S9__sequences__Walking 1"
                                                     "__views__55011271'"]),
    "gan_generator_vis": ("a grid of generator samples (the original's gan_generator_vis.py)", GanConfig,
                          [f"{P} gan_generator_vis synth_tiny"]),
    "fit": ("fit your own 2-D keypoints (a .npy of frames x joints x 2, pixels) and render them", InferenceConfig,
            [f"{P} fit keypoints.npy --gan_id synth_big --image_size 1000,1000"]),
}
ALIASES = {"generate_inferences": "infer", "h3m_report": "report", "eva_report": "report", "vis_sequence": "vis"}


def _parser() -> argparse.ArgumentParser:
    p = make_parser("apo_tf", __doc__.split("\n\n")[0], [ex for c in COMMANDS.values() for ex in c[2][:1]]
                    + [f"{P} make-data synth_tiny", f"{P} convert-h3m /data/h36m --out runs/apo_tf/data/h3m.hdf5"])
    p.add_argument("--home", default=None, help="the package's run root (default: $APO_TF_HOME, else "
                                                "<log-dir>/apo_tf)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (text, cls, examples) in COMMANDS.items():
        for alias in [name] + [a for a, target in ALIASES.items() if target == name]:
            _job_parser(sub, alias, text if alias == name else f"= {name}: {text}", cls, examples)
    mk = sub.add_parser("make-data", help="write a synthetic data set in the converted-H3.6M layout",
                        epilog=f"example:\n  {P} make-data synth_tiny", formatter_class=p.formatter_class)
    mk.add_argument("size", choices=["synth", "synth_tiny"])
    mk.add_argument("--out", default=None, help="output file (default: <root>/data/<size>.hdf5)")
    mk.add_argument("--seed", type=int, default=0, help="generator seed")
    mk.add_argument("--pixel_noise", type=float, default=0.0, help="Gaussian 2D noise, pixels")
    mk.add_argument("--log-dir", "--log_dir", dest="log_dir", default=None, help="root of every run folder")
    cv = sub.add_parser("convert-h3m", help="official Human3.6M pose CDFs -> the data.hdf5 that train/infer read",
                        epilog=f"example:\n  {P} convert-h3m /data/h36m  # S1/MyPoseFeatures/D3_Positions/*.cdf ...",
                        formatter_class=p.formatter_class)
    cv.add_argument("cdf_root", help="folder of the unpacked official archives, or the original's $H3M_PATH")
    cv.add_argument("--out", default=None, help="output file (default: <root>/data/h3m.hdf5, where h3m_* ids look)")
    cv.add_argument("--joints", type=int, choices=[24, 32], default=24,
                    help="24: human_pose_util's file (s24, int32) | 32: every raw joint, float32")
    cv.add_argument("--log-dir", "--log_dir", dest="log_dir", default=None, help="root of every run folder")
    return p


def _job_parser(sub, name: str, text: str, cls, examples: list[str]) -> None:
    q = sub.add_parser(name, help=text, description=text, formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n" + "\n".join(f"  {e}" for e in examples))
    kind = "gan" if cls is GanConfig else "inference"
    if name == "fit":
        q.add_argument("keypoints", help="a .npy (T, J, 2) in pixels, joints in apo_s24 or apo_s14 order (README)")
        q.add_argument("--focal", type=float, nargs=2, default=None, metavar=("FX", "FY"), help="pixels")
        q.add_argument("--center", type=float, nargs=2, default=None, metavar=("CX", "CY"), help="pixels")
        q.add_argument("--image_size", "--image-size", type=_pair, default=(1000, 1000), metavar="W,H",
                       help="image size in pixels, for the default intrinsics (default: 1000,1000)")
        q.add_argument("--fps", type=float, default=10.0, help="frame rate of the keypoints (default: 10)")
    else:
        q.add_argument("config_id", nargs="?", metavar=f"{kind.upper()}_ID",
                       help=f"a configs/{kind}/ name ({', '.join(_ids(kind))}) or a YAML path")
    add_config_arguments(q, cls, aliases={"max_steps": ["-s"]} if cls is GanConfig else None)
    if name in ("infer", "generate_inferences"):
        q.add_argument("-o", "--overwrite", action="store_true", help="redo sequences already in results.hdf5")
    if name in ("report", "h3m_report", "eva_report", "vis", "vis_sequence", "gan_generator_vis"):
        q.add_argument("--run", default="", help="the run folder to read (name or path; default: the latest)")
        q.add_argument("--config", help="a config by name or YAML path (same as the ID)")
        q.add_argument("--log-dir", "--log_dir", dest="log_dir", default=None, help="root of every run folder")
    else:
        add_run_arguments(q)
    if name in ("report", "h3m_report", "eva_report"):
        q.add_argument("-o", "--overwrite", action="store_true",
                       help="the original's flag; stored errors are always recomputed")
    if name in ("vis", "vis_sequence"):
        q.add_argument("-e", "--example_id", "--key", dest="key", default=None, help="sequence key (default: first)")
        q.add_argument("-p", "--use_plt", action="store_true", help="the original's flag; a GIF is always written")
        q.add_argument("--out", default=None, help="GIF path (default: <run>/vis/<key>.gif)")


def _pair(text: str) -> tuple[float, float]:
    parts = text.replace(",", " ").split()
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected W,H, got {text!r}")
    return float(parts[0]), float(parts[1])


def _ids(kind: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / kind).glob("*.yaml"))


def _resumed_config(args, config_id: str | None, root):
    """The ``config.yaml`` of the run that ``--resume`` names, or None (no --resume, or no saved config)."""
    from pathlib import Path

    from motionkit.runfolder import resolve_run_dir

    if getattr(args, "resume", None) is None or args.command not in ("train", "infer", "generate_inferences"):
        return None
    prefix = "gan" if args.command == "train" else "infer"
    name = args.run_name or (f"{prefix}-{Path(config_id).stem}" if config_id else None)
    if name is None:
        return None
    path = resolve_run_dir(root.parent, root.name, name, args.resume)[0] / "config.yaml"
    return path if path.is_file() else None


def _check_run_kind(saved, cls, command: str) -> None:
    """One line when ``--resume`` names a run of another command (a GAN run for ``infer``, or the reverse)."""
    import dataclasses

    import yaml

    try:
        data = yaml.safe_load(saved.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError, OSError):
        return  # load_config says what is wrong with the file
    if data is None or data == {}:
        raise ConfigError(f"{saved}: empty, so the settings of the saved weights are unknown; restore it (or delete "
                          "the run folder and start again without --resume)")
    if not isinstance(data, dict):
        return  # load_config says it is not a mapping
    keys = set(data)
    other = GanConfig if cls is InferenceConfig else InferenceConfig
    own = {f.name for f in dataclasses.fields(cls)}
    if keys - own and keys <= {f.name for f in dataclasses.fields(other)}:
        made_by = "train" if other is GanConfig else "infer"
        raise ConfigError(f"{saved.parent}: a run of `{made_by}`, not of `{command}`; --resume needs a run that "
                          f"`{command}` made")
    if not keys & (own - {"seed", "data_root", "dataset", "eva_split"}):  # nothing of apo_tf's own: another program
        shown = ", ".join(sorted(map(str, keys))[:4])
        raise ConfigError(f"{saved.parent}: not a run of apo_tf (its config.yaml has {shown}, none of the keys of "
                          f"`{command}`); --resume needs a run that `{command}` made")


def load_job_config(args, cls, root):
    """The subcommand's config: its ID (or --config) file, then every flag the user gave; with --resume, the
    resumed run's saved config.yaml, then the flags."""
    from apo_tf.config import load_gan_config, load_inference_config

    config_id = getattr(args, "config_id", None)
    if config_id and args.config and config_id != args.config:
        raise ConfigError(f"give the config once: {config_id!r} or --config {args.config!r}")
    config_id = config_id or args.config
    over = config_overrides(args, cls)
    saved = _resumed_config(args, config_id, root)
    if saved is not None:  # --resume continues the run as it was saved; only the flags given change it
        from motionkit.config import load_config

        _check_run_kind(saved, cls, args.command)
        return load_config(cls, saved, over)
    if cls is GanConfig:
        if not config_id:
            raise ConfigError("train: which GAN? give a GAN_ID (e.g. synth_tiny) or --config FILE")
        return load_gan_config(config_id, over)
    if not config_id:
        if args.command == "fit":
            from motionkit.config import load_config

            return load_config(InferenceConfig, None, {"inference_id": "fit", **over})
        raise ConfigError(f"{args.command}: which inference? give an INFERENCE_ID (e.g. synth_tiny) or --config")
    return load_inference_config(config_id, over)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from apo_tf.runs import package_root, select_device

    root = package_root(getattr(args, "log_dir", None), args.home)
    command = ALIASES.get(args.command, args.command)
    if command in ("make-data", "convert-h3m"):
        return _data_command(args, root)
    cls = COMMANDS[command][1]
    cfg = load_job_config(args, cls, root)  # every value checked here, before any work
    if command == "vis" and args.out:
        _check_gif_path(args.out)
    select_device(getattr(args, "device", None))
    try:
        return _dispatch(args, command, cfg, root)
    except Exception as e:
        if type(e).__name__ != "ResourceExhaustedError":  # TensorFlow's out of memory, raised by any op
            raise
        what = "n_g, n_c or batch_size" if cls is GanConfig else "the GAN's size or the number of frames"
        raise MotionzooError(f"out of memory ({' '.join(str(e).split())[:160]}...): use a smaller {what}") from None


def _check_gif_path(out: str) -> None:
    from pathlib import Path

    if Path(out).is_dir() or Path(out).suffix.lower() != ".gif":
        raise ConfigError(f"--out {out}: expected the path of a .gif file to write")


def _dispatch(args, command: str, cfg, root) -> int:
    if command == "train":
        from apo_tf.train import train

        train(cfg, root, run_name=args.run_name, resume=args.resume)
    elif command == "infer":
        from apo_tf.infer import run_inference

        run_inference(cfg, root, run_name=args.run_name, resume=args.resume, overwrite=args.overwrite)
    elif command == "report":
        _report(cfg, root, args.run)
    elif command == "vis":
        from apo_tf.viz import render

        print(f"wrote {render(cfg, root, args.run, args.key, args.out)}")
    elif command == "gan_generator_vis":
        from apo_tf.runs import find_run
        from apo_tf.viz import render_samples

        gan_dir = find_run(root, f"gan-{cfg.gan_id}", args.run, need="checkpoint", what="trained GAN")
        print(f"wrote {render_samples(gan_dir, seed=cfg.seed)}")
    else:
        from apo_tf.fit import fit_keypoints

        fit_keypoints(cfg, root, args.keypoints, args.image_size, args.focal, args.center, args.fps,
                      run_name=args.run_name, resume=args.resume)
    return 0


def _report(cfg: InferenceConfig, root, run: str) -> None:
    from apo_tf.evaluate import mean_pose_baseline, report
    from apo_tf.infer import find_gan_run
    from apo_tf.models import load_gan

    report(cfg, root, run)
    gan_dataset = load_gan(find_gan_run(cfg, root))[0].dataset
    base = mean_pose_baseline(cfg, gan_dataset, root)
    print("mean-pose baseline (Total, frames): " + ", ".join(f"{k} {v:.2f}" for k, v in base.items()))


def _data_command(args, root) -> int:
    if args.command == "make-data":
        from apo_tf.data import synthetic

        if not 0 <= args.seed < 2**32:
            raise ConfigError(f"--seed {args.seed}: must be in [0, 2**32)")
        if not (math.isfinite(args.pixel_noise) and 0 <= args.pixel_noise <= 1e4):
            raise ConfigError(f"--pixel_noise {args.pixel_noise}: must be in [0, 1e4] pixels")
        out = synthetic.write(args.out or root / "data" / f"{args.size}.hdf5", args.size, args.seed, args.pixel_noise)
    else:
        from apo_tf.data.h3m_convert import convert

        out = convert(args.cdf_root, args.out or root / "data" / "h3m.hdf5", joints=args.joints)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
