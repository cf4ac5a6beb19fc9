"""A whole continual run: t1 (Mix-StAGE on the source speaker), then t2..tN (DiffGAN, one new speaker each).

Run folder (readable): ``<runs_dir>/<name>_<replay>_k<k_shot>_fs<fewshot_seed>/``::

    config.yaml
    step1_oliver/    last.pt ckpt_*.pt best.pt (epoch checkpoints), final.pt, test_metrics.json, losses.png
    step2_maher/     ...
    continual_table.csv, continual_plot.png, continual_summary.json

``final.pt`` is self-contained (config, speakers so far, G, D, normalisation/k-means statistics): loading step 5
never rebuilds steps 1-4 (the original re-instantiated every previous trainer recursively). A run resumes at the
first step without ``final.pt``, from that step's last epoch checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from motionkit.config import config_to_dict, save_config
from motionkit.training import RunLogger, load_checkpoint, save_checkpoint, seed_everything

from .config import REPLAY_MODES, Config
from .data.clusters import Preprocessor
from .evaluate import evaluate_model, summarise
from .models.discriminator import VelocityPatchD
from .models.mixstage import build_generator
from .train import train_t1, train_tn


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def run_dir(cfg: Config) -> Path:
    return Path(cfg.runs_dir) / f"{cfg.name}_{cfg.replay}_k{cfg.k_shot}_fs{cfg.fewshot_seed}"


def step_dir(run: Path, step: int, speaker: str) -> Path:
    return run / f"step{step}_{speaker}"


def save_final(path: Path, cfg, step, G, D, pre) -> None:
    save_checkpoint(path, {"config": config_to_dict(cfg), "speakers": list(cfg.speaker[:step]), "step": step,
                           "G": G.state_dict(), "D": D.state_dict(), "pre": pre.state()})


def load_final(path, device="cpu"):
    """(cfg, G, D, pre, speakers, step) from a self-contained step checkpoint."""
    from motionkit.config import load_config
    s = load_checkpoint(path, map_location=device)
    cfg = load_config(Config, None, {k: v for k, v in s["config"].items()})
    G = build_generator(cfg).to(device)
    G.load_state_dict(s["G"])
    D = VelocityPatchD(G.P).to(device)
    D.load_state_dict(s["D"])
    return cfg, G, D, Preprocessor.from_state(s["pre"]), s["speakers"], s["step"]


def continual(cfg: Config, env=None, interrupt: tuple[int, int] | None = None, log=print) -> Path | None:
    """Run (or resume) every step. interrupt=(step, epoch) stops after that epoch (simulates a killed run, tests).
    Returns the run folder, or None when interrupted."""
    if cfg.replay not in REPLAY_MODES:
        from motionkit.errors import ConfigError
        raise ConfigError(f"replay must be one of {', '.join(REPLAY_MODES)}, got {cfg.replay!r}")
    device = env.device if env is not None and env.enabled else resolve_device(cfg.device)
    is_main = env is None or env.is_main
    rank = env.rank if env is not None and env.enabled else 0
    run = run_dir(cfg)
    run.mkdir(parents=True, exist_ok=True)
    if cfg.synthetic and not (Path(cfg.data_dir) / "cmu_intervals_df.csv").exists() and is_main:
        from .data.synthetic import make_synthetic
        log(f"writing the synthetic PATS stand-in to {cfg.data_dir}")
        make_synthetic(cfg.data_dir, tuple(cfg.speaker))
    if is_main:
        save_config(cfg, run / "config.yaml")
    ddp = env is not None and env.enabled
    if ddp and not is_main:
        from motionkit.training.ddp import barrier
        barrier(env)                      # rank 0 computes and caches the statistics first
    pre = Preprocessor.build(cfg.data_dir, cfg.speaker[:1], cfg.window_hop, cfg.num_clusters, cfg.mask, log=log)
    if ddp and is_main:
        from motionkit.training.ddp import barrier
        barrier(env)
    first = 1
    while first <= len(cfg.speaker) and (step_dir(run, first, cfg.speaker[first - 1]) / "final.pt").exists():
        first += 1
    G = D = None
    if first > 1:
        prev = step_dir(run, first - 1, cfg.speaker[first - 2]) / "final.pt"
        log(f"resuming after step {first - 1}: loading {prev}")
        _, G, D, _, _, _ = load_final(prev, device)
    for step in range(first, len(cfg.speaker) + 1):
        spk = cfg.speaker[step - 1]
        sdir = step_dir(run, step, spk)
        seed_everything(cfg.seed + 1000 * step + rank)
        logger = RunLogger(sdir, use_tensorboard=False, enabled=is_main)
        logger.info(f"== step t{step}: {'Mix-StAGE' if step == 1 else 'DiffGAN (' + cfg.replay + ')'} on "
                    f"{spk}; speakers so far {cfg.speaker[:step]}")
        stop = interrupt[1] if interrupt is not None and interrupt[0] == step else None
        if step == 1:
            G = build_generator(cfg).to(device)
            D = VelocityPatchD(G.P).to(device)
            res = train_t1(cfg, pre, G, D, sdir, device, env, logger, stop_after=stop)
        else:
            res = train_tn(cfg, pre, G, D, cfg.speaker[:step], sdir, device, env, logger, stop_after=stop)
        G, D = res.G, res.D
        if stop is not None:
            logger.info(f"interrupted after epoch {stop} of step {step} (resume with the same command)")
            return None
        if is_main:
            test = evaluate_model(G, pre, cfg, cfg.speaker[:step], "test", device, kinds=("same", "style"))
            (sdir / "test_metrics.json").write_text(json.dumps(test, indent=1))
            hist = logger.history()
            if hist:
                from motionkit.viz import plot_curves
                plot_curves(sdir / "losses.png", {k: v for k, v in hist.items() if not k.startswith("dev")},
                            title=f"t{step} {spk}")
            logger.info("test pck per speaker: " + ", ".join(f"{s}={test[s]['pck']:.3f}" for s in cfg.speaker[:step]))
            save_final(sdir / "final.pt", cfg, step, G, D, pre)
        logger.close()
        if env is not None and env.enabled:
            from motionkit.training.ddp import barrier
            barrier(env)
    if is_main:
        summarise(run, print_fn=log)
        if cfg.render_n > 0:
            from .render import render_run
            render_run(run, cfg.render_n, device=str(device), log=log)
    return run
