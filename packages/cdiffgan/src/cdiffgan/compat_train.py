"""The original's ``train.py`` command line: every flag of its ``argsUtils.py``, one step, its save folder.

``python -m cdiffgan.main train <the original's flags>`` runs one line of the original's job scripts
(``jobs/cl/t1/mixstage.py``, ``jobs/cl/t_n/*/diffgan3*.py``) with the same meaning:

- ``-speaker '["oliver"]'`` (a flat list) with a Mix-StAGE ``-model`` is t1; ``-speaker '[["oliver"], ["oliver",
  "maher"]]'`` (source speakers, then every speaker so far) with ``-model StyleDiffGAN4_G`` is a few-shot step,
  starting from ``-pretrained_model_weights`` (the previous line's ``_weights.p``, ours or the original's).
- ``-gan``: ``1``/``gan`` at t1 (Mix-StAGE GAN); ``align_diffgan``/``diffgan`` (DiffGAN), ``gan``/``align_gan``
  (Mix-StAGE fine-tuned, the StyleAdaptiveGAN baselines) at t>=2.
- As in the original, every flag takes several values and the command runs once per combination.
- The save folder under ``-save_dir`` is the original's (see :mod:`cdiffgan.compat`), plus our checkpoints in
  ``<prefix without '_'>/train/``.

Flags that change nothing here (bookkeeping, SLURM, wandb) are accepted and kept in ``_args.args``; a flag set to
a value whose behaviour we do not implement is a one-line error before any work.
"""

from __future__ import annotations

import argparse
import itertools
import json
from ast import literal_eval
from pathlib import Path

from motionkit.config import load_config
from motionkit.errors import ConfigError

from .compat import T1_MODELS, TN_MODELS
from .config import Config

# name: (type, default, help). Types: str, int, float or "literal" (a Python/JSON literal).
FLAGS: dict[str, tuple] = {
    "path2data": (str, "../dataset/groot/data", "PATS folder (holding cmu_intervals_df.csv)"),
    "path2outdata": (str, "../dataset/groot/data", "output folder of the original's preprocessing (unused here)"),
    "speaker": ("literal", "oliver", "t1: a list of speakers; t>=2: [[source speakers], [every speaker so far]]"),
    "modalities": ("literal", ["pose/data", "audio/log_mel_512"], "modalities loaded (pose/normalize, "
                   "audio/log_mel_400, text/tokens)"),
    "input_modalities": ("literal", None, "model inputs (audio/log_mel_400, text/tokens)"),
    "output_modalities": ("literal", None, "model output (pose/normalize)"),
    "mask": ("literal", [0, 7, 8, 9], "joints dropped from the output"),
    "split": ("literal", None, "(train, dev) split override; None = the csv's dataset column"),
    "batch_size": (int, 32, "batch size"),
    "shuffle": (int, 1, "shuffle the training windows"),
    "time": (float, 4.3, "window length in seconds"),
    "fs_new": ("literal", [15, 15], "frame rate of each modality after resampling"),
    "num_workers": (int, 0, "data loader workers (unused here)"),
    "window_hop": (int, 0, "hop between training windows in frames (0 = no overlap)"),
    "num_clusters": (int, None, "k-means clusters = sub-generators"),
    "pos": (int, 0, "part-of-speech tags as cluster labels"),
    "feats": ("literal", ["pose", "velocity", "speed"], "k-means features"),
    "style_dim": (int, 10, "style embedding size"),
    "style_losses": ("literal", {}, "loss weights of the original's style-transfer models (unused by Mix-StAGE)"),
    "style_iters": (int, 0, "t1 iterations per epoch (AlternateClassSampler); 0 = one pass over the windows"),
    "load_data": (int, 1, "load the data (0 only for loading models)"),
    "repeat_text": (int, 1, "0 = one entry per token with its duration (what Mix-StAGE uses)"),
    "filler": (int, 0, "filler-word mask with the text"),
    "relative2parent": (int, 0, "joints relative to their parents"),
    "quantile_sample": ("literal", None, "train on a velocity quantile of the poses"),
    "quantile_num_training_sample": (int, 3000, "samples after quantile rebalancing"),
    "finetune_quantile_sample": (float, None, "fine-tune on a quantile after training"),
    "heuristic_pose_starts": (int, 0, "estimate pose starts from acceleration"),
    "audio_average": (int, 0, "average (1) or subsample (0) audio frames to the pose rate"),
    "pretrained_model": (int, 0, "1 = load a pretrained model"),
    "pretrained_model_weights": (str, None, "the previous step's _weights.p (t>=2)"),
    "noise": (float, 0.0, "std of noise added to the ground truth"),
    "view": (str, "sentences.txt", "sentences to sample from"),
    "exp": (int, None, "if set, the run gets the next experiment number (exp_<N> in the file names)"),
    "debug": (int, 0, "debug mode"),
    "save_dir": (str, "save/model", "folder of the saved files"),
    "cpk": (str, "m", "name tag in the file names"),
    "dev_key": (str, "dev", "dev metric that selects the kept epoch (dev_spatialNorm at t1, dev_FID at t>=2)"),
    "dev_sign": (int, 1, "1: lower dev_key is better"),
    "tb": (int, 0, "write TensorBoard scalars into <prefix>tb/"),
    "seed": (int, 11212, "random seed"),
    "load": (str, None, "weights to load (render)"),
    "cuda": (int, 0, "GPU index, -1 for CPU"),
    "overfit": (int, 0, "1: keep the last epoch (no early stopping)"),
    "note": (str, None, "name tag in the file names"),
    "wandb": (int, 0, "log to Weights & Biases (not supported here)"),
    "wandb_project": (str, "Test", "wandb project"),
    "wandb_dir": (str, "wandb", "wandb folder"),
    "model": (str, "SnL2PoseLate_G", "generator: JointLateClusterSoftStyle5_G (t1), StyleDiffGAN4_G (t>=2)"),
    "modelKwargs": ("literal", {}, "generator arguments, e.g. {\"lambda_id\": 0.1, \"max_num_speakers\": 25}"),
    "trainer": (str, None, "force a trainer class"),
    "gan": (str, "False", "GAN mode: 1 (t1), align_diffgan / diffgan, gan / align_gan (t>=2)"),
    "dg_iter_ratio": (float, 1.0, "D step with probability r/(r+1)"),
    "lambda_gan": (float, 1.0, "start weight of the adversarial term"),
    "lambda_D": (float, 1.0, "start weight of D's fake term"),
    "joint": (int, 0, "feed the inputs to D as well"),
    "update_D_prob_flag": (int, 0, "adapt the D step probability"),
    "no_grad": (int, 0, "run D under no_grad in the G step"),
    "discriminator": (str, None, "discriminator class (default from the model name)"),
    "weighted": (int, 0, "weighted GAN"),
    "noise_only": (int, 0, "noise as the only input"),
    "loss": (str, "MSELoss", "criterion of reconstruction and GAN terms (L1Loss in every job script)"),
    "lossKwargs": ("literal", {}, "criterion arguments"),
    "preprocess_methods": ("literal", ["log_mel_512"], "preprocessing methods"),
    "preprocess_only": (int, 0, "only preprocess"),
    "text_aligned": (int, 1, "text is aligned (text/meta)"),
    "num_epochs": (int, 50, "epochs"),
    "early_stopping": (int, 1, "stop when dev_key stops improving (ignored with -overfit 1)"),
    "greedy_save": (int, 1, "save the best weights at each improvement"),
    "save_model": (int, 1, "save weights"),
    "stop_thresh": (int, 3, "epochs without improvement before stopping"),
    "min_epochs": (int, 0, "epochs before early stopping may act"),
    "eps": (float, 0.0, "smallest dev improvement that counts"),
    "num_iters": (int, 0, "cap on dev/test batches per epoch (0 = all)"),
    "num_training_iters": (int, None, "training iterations per epoch at t>=2"),
    "num_training_sample": (int, None, "fixed number of training samples"),
    "metrics": (int, 1, "compute the metrics"),
    "curriculum": (int, 0, "curriculum over time steps"),
    "kl_anneal": (int, 0, "KL annealing epochs"),
    "optim": (str, "Adam", "optimiser"),
    "lr": (float, 1e-4, "learning rate"),
    "optimKwargs": ("literal", {}, "optimiser arguments"),
    "optim_separate": (float, None, "separate learning rate of BERT"),
    "scheduler": (str, None, "learning-rate scheduler (None = ExponentialLR(gamma) per epoch)"),
    "scheduler_warmup_steps": (int, 0, "warm-up steps"),
    "gamma": (float, 0.99, "ExponentialLR factor per epoch"),
    "cache": (int, 0, "read each interval on first use (always so here)"),
    "fewshot_seed": (int, None, "seed of the few-shot window choice"),
    "k_shot": (int, None, "few-shot windows per speaker (7 / 28 / 140)"),
    "p_avg": (int, 1, "number of k-shot sets"),
    "paradigm": (str, None, "src/tgt data paradigm (no_src_tgt in the job scripts)"),
    "replay": (str, None, "replay mode (pseudo-align-fs-src, no-replay-fs, random-fs, random-full, ...)"),
    "angles": ("literal", [90], "augmentation angles"),
    "config": (str, None, "SLURM job generator config"),
    "script": (str, None, "SLURM job generator script"),
    "prequel": (str, "source activate torch\\n", "SLURM job prequel"),
    "sequel": (str, None, "SLURM job sequel"),
    "sample_all_styles": (int, 0, "sample every style pair after training"),
    "mix": (int, 0, "sample a mixture of all styles"),
    "clean_render": (int, 1, "render every video from scratch"),
    "render_list": (str, None, "render only these"),
    "render": (int, 0, "renders per speaker after training"),
    "render_text": (int, 1, "word captions in the renders"),
    "render_transparent": (int, 0, "transparent render background"),
    "transforms": ("literal", ["mirror"], "evil-twin transforms"),
    "cpu": (int, 10, "CPUs (SLURM)"),
    "mem": (int, 16000, "memory (SLURM)"),
    "mem_usage": (int, 0, "print memory usage"),
}
# flags whose value must be the default (or one of the listed values): what this implementation does
MUST_BE = {
    "repeat_text": {0}, "filler": {0}, "relative2parent": {0}, "quantile_sample": {None},
    "finetune_quantile_sample": {None}, "heuristic_pose_starts": {0}, "audio_average": {0}, "noise": {0.0},
    "pos": {0}, "joint": {0}, "update_D_prob_flag": {0}, "no_grad": {0}, "weighted": {0}, "noise_only": {0},
    "loss": {"L1Loss"}, "optim": {"Adam"}, "scheduler": {None}, "curriculum": {0}, "kl_anneal": {0},
    "wandb": {0}, "sample_all_styles": {0}, "mix": {0}, "p_avg": {1}, "num_training_sample": {None},
    "paradigm": {None, "no_src_tgt"}, "trainer": {None}, "discriminator": {None}, "optim_separate": {None},
    "dev_sign": {1}, "split": {None}, "lossKwargs": {"{}"}, "optimKwargs": {"{}"},
}
MODALITIES = {"pose/normalize", "audio/log_mel_400", "text/tokens"}
GAN_T1 = {"1", "True", "gan"}
GAN_TN = ("align_diffgan", "diffgan", "gan", "align_gan")
MODEL_KWARGS = {"lambda_id", "argmax", "some_grad_flag", "train_only", "max_num_speakers", "tgt_train_ratio",
                "get_pretrained_D"}
# ours (double dash): what the original fixed in code
OURS = {"text_encoder": ("text encoder (the original: bert, from the local cache or --bert_path)", "bert"),
        "bert_path": ("local bert-base-uncased folder", ""),
        "threads": ("torch CPU threads (0 = default)", 0), "progress": ("progress bars (0/1)", 1)}


def _literal(text: str):
    try:
        return literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            return json.loads(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"cannot read {text!r} as a Python/JSON literal") from None


def add_original_arguments(parser: argparse.ArgumentParser) -> None:
    """Every flag of the original's argsUtils.py, single-dash, several values each (one run per combination)."""
    group = parser.add_argument_group("the original's flags (argsUtils.py)")
    for name, (typ, default, text) in FLAGS.items():
        conv = _literal if typ == "literal" else typ
        group.add_argument(f"-{name}", nargs="+", type=conv, default=[default], metavar="V",
                           help=f"{text} (default: {default})".replace("%", "%%"))
    ours = parser.add_argument_group("ours")
    for name, (text, default) in OURS.items():
        ours.add_argument(f"--{name}", default=default, type=type(default), help=f"{text} (default: {default!r})")


def combinations(args: argparse.Namespace) -> list[dict]:
    """The original's argparseNloop: one dict of flag values per element of the product of the value lists."""
    keys = list(FLAGS)
    return [dict(zip(keys, values)) for values in itertools.product(*(getattr(args, k) for k in keys))]


def check_flags(flags: dict) -> None:
    """One-line errors for values we do not implement (before any work)."""
    for name, allowed in MUST_BE.items():
        value = flags[name]
        shown = json.dumps(value) if isinstance(value, dict) else value
        if not any(value == a or shown == a for a in allowed):
            raise ConfigError(f"-{name} {value!r}: not supported here (supported: "
                              f"{', '.join(repr(a) for a in sorted(allowed, key=str))})")
    if flags["model"] not in T1_MODELS + TN_MODELS:
        raise ConfigError(f"-model {flags['model']!r}: unknown model (known: {', '.join(T1_MODELS + TN_MODELS)})")
    bad = sorted(set(flags["modelKwargs"]) - MODEL_KWARGS)
    if bad:
        raise ConfigError(f"-modelKwargs: unknown key(s) {', '.join(bad)} (known: {', '.join(sorted(MODEL_KWARGS))})")
    for key in ("argmax", "some_grad_flag", "train_only", "tgt_train_ratio"):
        if flags["modelKwargs"].get(key, 1) != 1:
            raise ConfigError(f"-modelKwargs {key}={flags['modelKwargs'][key]}: only 1 is implemented")
    mods = set(flags["modalities"] or []) | set(flags["input_modalities"] or []) | set(flags["output_modalities"] or [])
    if mods - MODALITIES:
        raise ConfigError(f"-modalities: {sorted(mods - MODALITIES)} not supported (Mix-StAGE uses "
                          f"{', '.join(sorted(MODALITIES))})")
    if list(flags["feats"]) != ["pose", "velocity", "speed"]:
        raise ConfigError(f"-feats {flags['feats']}: only ['pose', 'velocity', 'speed'] is implemented")


def step_kind(flags: dict) -> tuple[str, list[str]]:
    """("t1", [speaker]) or ("tn", every speaker so far) from -speaker and -model."""
    spk = flags["speaker"]
    spk = [spk] if isinstance(spk, str) else list(spk)
    nested = any(isinstance(s, list | tuple) for s in spk)
    if flags["model"] in T1_MODELS:
        if nested or len(spk) != 1:
            raise ConfigError(f"-speaker {flags['speaker']!r}: a t1 model ({flags['model']}) trains on one speaker, "
                              "e.g. '[\"oliver\"]'")
        return "t1", [str(spk[0])]
    if not nested or len(spk) != 2:
        raise ConfigError(f"-speaker {flags['speaker']!r}: {flags['model']} needs [[source], [every speaker so far]]")
    if not flags["pretrained_model_weights"]:
        raise ConfigError(f"{flags['model']} needs -pretrained_model_weights (the previous step's _weights.p)")
    return "tn", [str(s) for s in spk[1]]


def to_config(flags: dict, ours: dict) -> tuple[Config, str, list[str]]:
    """Our Config for one combination of the original's flags; (cfg, "t1"|"tn", speakers so far)."""
    check_flags(flags)
    kind, speakers = step_kind(flags)
    kw = flags["modelKwargs"]
    gan = str(flags["gan"])
    if kind == "t1" and gan not in GAN_T1:
        raise ConfigError(f"-gan {gan!r} with {flags['model']}: only the GAN trainer is implemented (-gan 1)")
    if kind == "tn" and gan not in GAN_TN:
        raise ConfigError(f"-gan {gan!r}: one of {', '.join(GAN_TN)} at t>=2")
    if flags["num_clusters"] is None:
        raise ConfigError("-num_clusters: Mix-StAGE needs a number of clusters (8 in the job scripts)")
    tn = kind == "tn"
    if flags["cuda"] >= 0:
        import torch
        if not torch.cuda.is_available():
            raise ConfigError(f"-cuda {flags['cuda']}: no CUDA on this machine (-cuda -1 runs on the CPU)")
    values = {
        "name": str(flags["note"]), "data_dir": flags["path2data"], "speaker": speakers, "mask": list(flags["mask"]),
        "time": float(flags["time"]), "fps": int(list(flags["fs_new"])[0]), "window_hop": flags["window_hop"],
        "num_clusters": flags["num_clusters"], "style_dim": flags["style_dim"], "seed": flags["seed"],
        "device": "cpu" if flags["cuda"] < 0 else f"cuda:{flags['cuda']}", "lr": flags["lr"],
        "gamma": flags["gamma"], "dg_iter_ratio": int(flags["dg_iter_ratio"]), "lambda_gan": flags["lambda_gan"],
        "lambda_D": flags["lambda_D"], "lambda_id": kw.get("lambda_id", 1.0),
        "max_num_speakers": kw.get("max_num_speakers", len(speakers)),
        "get_pretrained_D": bool(kw.get("get_pretrained_D", 0)),
        ("batch_size_tn" if tn else "batch_size"): flags["batch_size"],
        ("num_epochs_tn" if tn else "num_epochs"): flags["num_epochs"],
        "render_n": flags["render"], "text_encoder": ours["text_encoder"], "bert_path": ours["bert_path"],
        "bert_padding": "token_type_ids", "threads": ours["threads"], "progress": bool(ours["progress"]),
        "pck_joints": "all", "fewshot_sampler": "original", "replay_split": "original",
    }
    if flags["style_iters"]:
        values["style_iters"] = flags["style_iters"]
    if not tn and flags["fewshot_seed"] is not None and flags["k_shot"]:     # jobs/cl/t1/mixstage_fs.py
        values.update(t1_k_shot=flags["k_shot"], fewshot_seed=flags["fewshot_seed"])
    if tn:
        values.update(gan=gan, replay=flags["replay"] or "pseudo-align-fs-src",
                      k_shot=flags["k_shot"] or 7, fewshot_seed=flags["fewshot_seed"] or 1,
                      num_training_iters=flags["num_training_iters"] or 200)
    if flags["num_iters"]:
        values["eval_windows"] = flags["num_iters"] * flags["batch_size"]
    return load_config(Config, None, values), kind, speakers


def run_original_train(args: argparse.Namespace) -> list[Path]:
    """Run every combination of the given flags (each checked before the first one starts)."""
    from .original_step import run_step
    ours = {k: getattr(args, k) for k in OURS}
    combos = combinations(args)
    plans = [(flags, *to_config(flags, ours)) for flags in combos]
    return [run_step(flags, cfg, kind, speakers) for flags, cfg, kind, speakers in plans]
