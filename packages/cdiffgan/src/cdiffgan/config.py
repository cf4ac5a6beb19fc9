"""Every hyperparameter of a C-DiffGAN continual run, in one dataclass.

Names follow the original flags where they still mean something (``speaker``, ``k_shot``, ``fewshot_seed``,
``replay``, ``window_hop``, ``batch_size``, ``num_epochs``, ...). YAML files in ``configs/`` set them; the CLI
overrides them (``--k_shot 28`` or the original single-dash ``-k_shot 28``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REPLAY_MODES = ("no-replay-fs", "random-fs", "pseudo-fs-src", "pseudo-align-fs-src", "pseudo-fs-tgt",
                "pseudo-align-fs-tgt")


@dataclass
class Config:
    # --- run ---
    name: str = "paper"                       # run folder prefix
    runs_dir: str = "runs"
    data_dir: str = "datasets/cache/pats_synthetic"   # original -path2data
    synthetic: bool = False                   # write the synthetic stand-in into data_dir when it has no data yet
    render_n: int = 0                         # after the last step, render this many test windows per speaker
    device: str = "auto"                      # auto = cuda if available else cpu
    threads: int = 0                          # torch CPU threads (0 = torch default; 1 avoids oversubscription)
    seed: int = 11212                         # original -seed
    # --- continual protocol ---
    speaker: list[str] = field(default_factory=lambda: ["oliver", "maher", "chemistry", "ytch_prof", "lec_evol"])
    k_shot: int = 7                           # few-shot windows per speaker (7/28/140 ~ 30 s / 2 min / 10 min)
    fewshot_seed: int = 1
    replay: str = "pseudo-align-fs-src"       # one of REPLAY_MODES
    window_hop: int = 5                       # hop between training windows in 15-fps frames (0 = no overlap)
    # --- t1: Mix-StAGE on the source speaker ---
    batch_size: int = 16
    num_epochs: int = 20
    style_iters: int = 3000                   # training iterations per t1 epoch
    # --- t2..tN: DiffGAN ---
    batch_size_tn: int = 32
    num_epochs_tn: int = 20
    num_training_iters: int = 200             # training iterations per DiffGAN epoch
    get_pretrained_D: bool = True             # reuse the previous step's discriminator (fresh Adam)
    # --- data ---
    time: float = 4.3                         # window length in seconds -> 64 frames at 15 fps
    fps: int = 15                             # target rate of every modality (original -fs_new)
    mask: list[int] = field(default_factory=lambda: [0, 7, 8, 9])   # joints dropped from the output (root, nose, eyes)
    num_clusters: int = 8                     # k-means centres = number of sub-generators
    eval_windows: int = 0                     # cap on test windows per speaker in evaluation (0 = all)
    # --- model sizes (paper: 256 / 8 heads / ff 2 / 10 / 25) ---
    hidden: int = 256
    text_encoder: str = "embedding"           # "embedding" (default, no download) or "bert"
    bert_path: str = ""                       # local folder with bert-base-uncased weights (text_encoder=bert)
    vocab_size: int = 30522                   # bert-base-uncased WordPiece vocabulary
    transformer_layers: int = 2
    transformer_heads: int = 8
    transformer_ff: int = 2                   # the original's dim_feedforward=2 (kept on purpose)
    dropout: float = 0.1
    style_dim: int = 10
    max_num_speakers: int = 25
    cluster_layers: int = 5
    decoder_layers: int = 4
    # --- GAN ---
    lr: float = 1e-4
    lr_tn: float = 0.0                        # learning rate of the DiffGAN steps (0 = same as lr)
    gamma: float = 0.99                       # ExponentialLR, stepped once per epoch
    grad_clip: float = 1.0
    lambda_id: float = 0.1
    lambda_gan: float = 1.0
    lambda_D: float = 1.0
    lambda_step: float = 0.1                  # +0.1 every lambda_every training forwards ...
    lambda_every: int = 301
    lambda_max: float = 2.0                   # ... capped at 2
    dg_iter_ratio: int = 1                    # D step with probability r/(r+1)
    # --- DiffGAN grounding shift ---
    inner_steps: int = 100
    inner_lr: float = 1000.0
    topk: int = 10
    lambda_diff: float = 1.0
    # --- speed (ours; "plain" reproduces the original's eager fp32 loop) ---
    bf16: bool = False                        # bf16 autocast for the forward passes
    inner_loop: str = "analytic"              # "analytic" (closed-form gradient, no autograd) or "autograd"
    cache_frozen: bool = False                # frozen trunk in eval mode; trunk features + pseudo labels cached
    # --- logging ---
    log_every: int = 50
    progress: bool = True
