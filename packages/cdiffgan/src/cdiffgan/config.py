"""Every hyperparameter of a C-DiffGAN continual run, in one dataclass.

Names follow the original flags where they still mean something (``speaker``, ``k_shot``, ``fewshot_seed``,
``replay``, ``window_hop``, ``batch_size``, ``num_epochs``, ...). YAML files in ``configs/`` set them; the CLI
overrides them (``--k_shot 28`` or the original single-dash ``-k_shot 28``). Each field's trailing comment is its
``--help`` text; every value is checked when the config is built (``__post_init__``), before any work.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field, fields
from typing import Literal

from motionkit.errors import ConfigError

MAX_VOCAB = 10_000_000  # beyond this the embedding alone would not fit in memory at any width
SEED_LIMIT = 2**62  # torch.manual_seed takes 64-bit seeds; every rank adds its number

ReplayMode = Literal["no-replay-fs", "random-fs", "pseudo-fs-src", "pseudo-align-fs-src", "pseudo-fs-tgt",
                     "pseudo-align-fs-tgt", "random-full", "no-replay-full"]
REPLAY_MODES: tuple[str, ...] = ReplayMode.__args__
PATS_ORDER = ("oliver", "maher", "chemistry", "ytch_prof", "lec_evol")   # the paper's speaker order
GanMode = Literal["align_diffgan", "diffgan", "gan", "align_gan"]
GAN_MODES: tuple[str, ...] = GanMode.__args__


@dataclass
class Config:
    # --- run ---
    name: str = "paper"  # run name prefix: the run folder is <log_dir>/cdiffgan/<name>_<replay>_k<k_shot>_fs<seed>
    log_dir: str = "runs"  # root of every run folder (runs/cdiffgan/<run>/)
    run_name: str = ""  # the run folder's name under <log_dir>/cdiffgan ("" = from name, replay, k_shot, seed)
    data_dir: str = "datasets/cache/pats_synthetic"  # PATS folder holding cmu_intervals_df.csv (original -path2data)
    synthetic: bool = False  # write the synthetic stand-in into data_dir when it has no data yet
    render_n: int = 0  # after the last step, render this many test windows per speaker
    device: str = "auto"  # cpu, cuda, cuda:1 ... (auto = cuda if available else cpu; original -cuda)
    threads: int = 0  # torch CPU threads (0 = torch default; 1 avoids oversubscription)
    seed: int = 11212  # random seed of the run (original -seed)
    # --- continual protocol ---
    speaker: list[str] = field(default_factory=lambda: list(PATS_ORDER), metadata={"help": (
        'ordered speakers, the source first; the original\'s \'[["oliver"], ["oliver", "maher"]]\' is accepted')})
    k_shot: int = 7  # few-shot windows per new speaker (7/28/140 ~ 30 s / 2 min / 10 min)
    fewshot_seed: int = 1  # seed of the few-shot window choice (original -fewshot_seed)
    fewshot_sampler: Literal["original", "per-speaker"] = field(default="original", metadata={"help": (
        'original: one generator over all speakers in list order; per-speaker: seeded from (seed, name), '
        'stable whatever follows')})
    replay: ReplayMode = "pseudo-align-fs-src"  # replay of old speakers at t>=2 (original -replay)
    replay_split: Literal["original", "fixed"] = field(default="original", metadata={"help": (
        'original: only pseudo-align-fs-src splits old/new rows, other modes draw uniformly; fixed: that '
        'split in every replay mode')})
    gan: GanMode = field(default="align_diffgan", metadata={"help": (
        't>=2 model (original -gan): align_diffgan / diffgan (StyleDiffGAN: only the big modules train), gan / '
        'align_gan (all of Mix-StAGE fine-tuned: the StyleAdaptiveGAN baselines); align_*: in pseudo-align '
        'modes only the new speaker\'s rows reach D')})
    source_copy: Literal["train", "eval"] = "train"  # mode of the frozen G_src making pseudo labels (original: train)
    t1_k_shot: int = 0  # t1 on this many few-shot windows of the source (0 = its train split; original mixstage_fs)
    window_hop: int = 5  # hop between training windows in 15-fps frames (0 = no overlap)
    # --- t1: Mix-StAGE on the source speaker ---
    batch_size: int = 16  # t1 batch size
    num_epochs: int = 20  # t1 epochs
    style_iters: int = 3000  # t1 training iterations per epoch
    # --- t2..tN: DiffGAN ---
    batch_size_tn: int = 32  # batch size of the few-shot steps t>=2
    num_epochs_tn: int = 20  # epochs of each few-shot step t>=2
    num_training_iters: int = 200  # training iterations per epoch of a few-shot step
    get_pretrained_D: bool = True  # reuse the previous step's discriminator (fresh Adam); else a new one
    # --- data ---
    time: float = 4.3  # window length in seconds -> 64 frames at 15 fps
    fps: int = 15  # target rate of every modality (original -fs_new)
    mask: list[int] = field(default_factory=lambda: [0, 7, 8, 9])  # joints dropped from the output (root, nose, eyes)
    num_clusters: int = 8  # k-means centres = number of sub-generators
    eval_windows: int = 0  # cap on test windows per speaker in evaluation (0 = all)
    pck_joints: Literal["all", "kept"] = field(default="all", metadata={"help": (
        "PCK threshold from the skeleton's extent over all 52 joints with the root at 0 (original) or over "
        'the 48 kept joints only (stricter)')})
    # --- model sizes (paper: 256 / 8 heads / ff 2 / 10 / 25) ---
    hidden: int = 256  # channels C of every layer
    text_encoder: Literal["embedding", "bert"] = field(default="embedding", metadata={"help": (
        "embedding: learned, no download; bert: the original's bert-base-uncased from bert_path")})
    bert_path: str = ""  # local folder with bert-base-uncased weights (text_encoder=bert; nothing is downloaded)
    bert_padding: Literal["attention_mask", "token_type_ids"] = field(default="attention_mask", metadata={"help": (
        "token_type_ids: the original's call, which passed its padding mask as token_type_ids")})
    vocab_size: int = 30522  # token ids (bert-base-uncased WordPiece vocabulary)
    transformer_layers: int = 2  # layers of the cross-modal fusion transformer
    transformer_heads: int = 8  # attention heads of the fusion transformer
    transformer_ff: int = 2  # feed-forward width of the fusion transformer (the original's dim_feedforward=2)
    dropout: float = 0.1  # dropout of the fusion transformer
    style_dim: int = 10  # style embedding size
    max_num_speakers: int = 25  # style slots S
    cluster_layers: int = 5  # conv blocks of the cluster classifier after the first
    decoder_layers: int = 4  # conv blocks of each sub-generator
    # --- GAN and loss weights ---
    lr: float = 1e-4  # Adam learning rate (t1)
    lr_tn: float = 0.0  # learning rate of the steps t>=2 (0 = same as lr)
    gamma: float = 0.99  # ExponentialLR factor, stepped once per epoch
    grad_clip: float = 1.0  # grad-norm clip of the stepped network
    lambda_id: float = 0.1  # weight of the style-identity terms id_in and id_out
    lambda_cluster: float = 1.0  # weight of L_cluster
    lambda_rec: float = 1.0  # weight of L_rec
    lambda_gan: float = 1.0  # start value of the weight of L_adv (then the lambda schedule)
    lambda_D: float = 1.0  # start value of the weight of the fake term of L_D (then the lambda schedule)
    lambda_step: float = 0.1  # the lambda schedule adds this every lambda_every training forwards ...
    lambda_every: int = 301  # ... (pycasper LambdaScheduler) ...
    lambda_max: float = 2.0  # ... up to this cap
    loss_weights: dict = field(default_factory=dict, metadata={"help": (
        'extra or overriding loss-term weights by name, e.g. {"id_out": 0} (terms of cdiffgan.losses)')})
    dg_iter_ratio: int = 1  # D step with probability r/(r+1), else a G step
    # --- DiffGAN grounding shift ---
    inner_steps: int = 100  # SGD steps of the inner z* optimisation
    inner_lr: float = 1000.0  # learning rate of the inner optimisation
    topk: int = 10  # time steps kept by the grounding mask
    lambda_diff: float = 1.0  # weight of L_diff
    # --- speed (ours; "plain" reproduces the original's eager fp32 loop) ---
    bf16: bool = False  # bf16 autocast for the forward passes
    inner_loop: Literal["analytic", "autograd"] = field(default="analytic", metadata={"help": (
        "analytic: closed-form gradient (same trajectory); autograd: the original's loop")})
    cache_frozen: bool = False  # frozen trunk in eval mode; trunk features and pseudo labels cached per step
    # --- logging ---
    progress: bool = True  # tqdm progress bars at step granularity
    tensorboard: bool = False  # also write each step's scalars to step<i>_<speaker>/tb (view: cdiffgan[tensorboard])

    @property
    def finetune_all(self) -> bool:
        """The Mix-StAGE fine-tuning baselines (gan, align_gan) train every parameter and skip the grounding shift."""
        return not self.gan.endswith("diffgan")

    def __post_init__(self):
        self.speaker = _speaker_list(self.speaker)
        positive = ("k_shot", "batch_size", "num_epochs", "style_iters", "batch_size_tn", "num_epochs_tn",
                    "num_training_iters", "num_clusters", "hidden", "style_dim", "max_num_speakers",
                    "transformer_heads", "transformer_layers", "decoder_layers", "lambda_every", "vocab_size",
                    "transformer_ff")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("t1_k_shot", "window_hop", "eval_windows", "render_n", "threads", "inner_steps", "topk",
                     "dg_iter_ratio", "cluster_layers"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        self._check_floats()
        self._check_window()
        if self.vocab_size > MAX_VOCAB:
            raise ConfigError(f"vocab_size must be at most {MAX_VOCAB:,} (a word-embedding row each; BERT's "
                              f"vocabulary has 30,522), got {self.vocab_size}")
        from .losses import GENERATOR_TERMS
        unknown = sorted(set(self.loss_weights) - set(GENERATOR_TERMS))
        if unknown:
            raise ConfigError(f"loss_weights: unknown term(s) {', '.join(map(str, unknown))} (terms: "
                              f"{', '.join(GENERATOR_TERMS)})")
        for name in ("seed", "fewshot_seed"):
            if not -SEED_LIMIT <= getattr(self, name) < SEED_LIMIT:
                raise ConfigError(f"{name} must be between -2**62 and 2**62 (torch's seed range), got "
                                  f"{getattr(self, name)}")
        for name in ("name", "run_name"):
            value = getattr(self, name)
            if value in (".", "..") or "/" in value or "\\" in value or (name == "name" and not value.strip()):
                raise ConfigError(f"{name} must be a plain folder name (no '/', '\\', '.' or '..'; the run folder "
                                  f"is <log_dir>/cdiffgan/<run_name>), got {value!r}")
        if not self.speaker or len(set(self.speaker)) != len(self.speaker):
            raise ConfigError(f"speaker must be a non-empty list of distinct names, got {self.speaker}")
        if len(self.speaker) > self.max_num_speakers:
            raise ConfigError(f"{len(self.speaker)} speakers but max_num_speakers={self.max_num_speakers}")
        if self.hidden % self.transformer_heads:
            raise ConfigError(f"hidden={self.hidden} must be a multiple of transformer_heads={self.transformer_heads}")
        bad = [j for j in self.mask if not 0 <= j < 52]
        if bad:
            raise ConfigError(f"mask: joint indices must be in 0..51, got {bad}")
        if len(set(self.mask)) != len(self.mask) or len(self.mask) > 50:
            raise ConfigError(f"mask: distinct joint indices leaving at least 2 joints, got {self.mask}")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                   for v in self.loss_weights.values()):
            raise ConfigError(f"loss_weights: every weight must be a finite number >= 0, got {self.loss_weights}")

    def _check_floats(self) -> None:
        """Every float finite, and in its range: rates > 0, weights >= 0, gamma in (0, 1], dropout in [0, 1)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value}")
        for name in ("lr", "grad_clip", "inner_lr", "time"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("lr_tn", "lambda_id", "lambda_cluster", "lambda_rec", "lambda_gan", "lambda_D", "lambda_step",
                     "lambda_max", "lambda_diff"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"gamma must be in (0, 1] (the per-epoch learning-rate factor), got {self.gamma}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")

    def _check_window(self) -> None:
        """time and fps must cut 64-frame windows from every modality (pose at 15 Hz, audio at 103 Hz): the
        models' convolutions are built for 64 frames."""
        if self.fps < 1:
            raise ConfigError(f"fps must be >= 1, got {self.fps}")
        frames = [math.ceil(int(self.time * fs) / max(int(round(fs / self.fps)), 1)) for fs in (15, 103)]
        if frames != [64, 64]:
            raise ConfigError(f"time={self.time} and fps={self.fps} give {frames[0]} pose and {frames[1]} audio frames "
                              "per window; the models need 64 of each (time 4.3, fps 15)")


def _speaker_list(value) -> list[str]:
    """The speaker order. The original's list of lists (``[["oliver"], ["oliver", "maher"]]``: source speakers,
    then every speaker so far) becomes its last list; its first list must be that list's start."""
    items = list(value) if isinstance(value, list | tuple) else [value]
    if any(isinstance(v, list | tuple) for v in items) or any(str(v).lstrip().startswith("[") for v in items):
        lists = []
        for v in items:
            if isinstance(v, str):
                try:
                    v = ast.literal_eval(v)
                except (ValueError, SyntaxError):
                    raise ConfigError(f"speaker: cannot read {v!r} as a list of names") from None
            if isinstance(v, list | tuple) and v and all(isinstance(x, list | tuple) for x in v):
                lists += [[str(s) for s in x] for x in v]
            else:
                lists.append([str(s) for s in (v if isinstance(v, list | tuple) else [v])])
        full = lists[-1]
        if full[: len(lists[0])] != lists[0]:
            raise ConfigError(f"speaker: the source speakers {lists[0]} must start the full list {full}")
        return full
    return [str(v) for v in items]
