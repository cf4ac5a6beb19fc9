"""A whole continual run: t1 (Mix-StAGE on the source speaker), then t2..tN (DiffGAN, one new speaker each).

Run folder (motionkit's run lifecycle): ``<log_dir>/cdiffgan/<name>_<replay>_k<k_shot>_fs<fewshot_seed>[-2, -3 ...]/``
(a new folder per invocation; ``--resume`` continues the latest one or a named one)::

    config.yaml run.json .lock
    step1_oliver/    last.pt ckpt_*.pt best.pt (epoch checkpoints), final.pt, test_metrics.json, losses.png
    step2_maher/     ...
    continual_table.csv, continual_plot.png, continual_summary.json

``final.pt`` is self-contained (:func:`cdiffgan.models.save_step`): loading step 5 never rebuilds steps 1-4 (the
original re-instantiated every previous trainer recursively). A resumed run continues at the first step without
``final.pt``, from that step's last epoch checkpoint, and ends bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path

from motionkit.run import start_run
from motionkit.training import RunLogger, seed_everything

from .config import Config
from .data.clusters import Preprocessor
from .metrics import evaluate_model
from .models import build_discriminator, build_generator, load_step, save_step
from .train import train_t1, train_tn

PACKAGE = "cdiffgan"
# what --resume may change: the rest would not match the saved weights, optimiser states or few-shot buffers;
# the learning rates apply from the resumed epoch on (train.GanParts.apply_lr, logged)
MUTABLE_ON_RESUME = {"speaker", "lr", "lr_tn", "num_training_iters", "num_epochs", "num_epochs_tn", "render_n",
                     "threads", "progress", "device", "eval_windows", "tensorboard", "log_dir", "run_name",
                     "data_dir", "synthetic"}


def run_name(cfg: Config) -> str:
    """The run folder's name: ``cfg.run_name`` or ``<name>_<replay>_k<k_shot>_fs<fewshot_seed>``."""
    return cfg.run_name or f"{cfg.name}_{cfg.replay}_k{cfg.k_shot}_fs{cfg.fewshot_seed}"


def find_run(run, log_dir="runs") -> Path:
    """A run folder given as a path, or by name: the newest of ``<log_dir>/cdiffgan/<name>[-N]``."""
    path = Path(run)
    if path.is_dir():
        return path
    root = Path(log_dir) / PACKAGE
    found = [p for p in root.glob(f"{path.name}*") if p.is_dir() and (p.name == path.name or (
        p.name[len(path.name):].startswith("-") and p.name[len(path.name) + 1:].isdigit()))]
    if not found:
        from motionkit.errors import DatasetMissingError
        raise DatasetMissingError(f"{run}: no such run folder (nor a run of that name under {root})")
    return max(found, key=lambda p: int(p.name[len(path.name) + 1:] or 1))


def step_dir(run: Path, step: int, speaker: str) -> Path:
    return run / f"step{step}_{speaker}"


def continual(cfg: Config, resume: str | None = None, interrupt: tuple[int, int] | None = None,
              log=print) -> Path | None:
    """Run every step in a new run folder, or resume one (``resume``: "" = the latest run of this name, or a
    run name / folder). interrupt=(step, epoch) stops after that epoch (a killed run, for tests).
    Returns the run folder (on rank 0), or None when interrupted."""
    with start_run(cfg, package=PACKAGE, run_name=run_name(cfg), log_root=cfg.log_dir, resume=resume,
                   device=cfg.device, seed=cfg.seed, mutable_on_resume=MUTABLE_ON_RESUME) as run:
        if cfg.threads > 0:
            import torch
            torch.set_num_threads(cfg.threads)
        done = _steps(cfg, run, interrupt, log)
        return run.dir if done and run.is_main else None


def check_speakers(cfg) -> None:
    """Every speaker of the run exists in the data folder's csv (one line naming the missing ones, before work),
    has a whole window in every split, and every token id of their intervals is below vocab_size.
    With ``synthetic`` and no data yet, every speaker must be one of the synthetic set's (written when the run
    starts), so a misspelt name is refused here and never becomes a new speaker of the shared folder."""
    from motionkit.errors import ConfigError, DatasetMissingError

    from .data.pats import check_speaker_data, read_csv
    from .data.synthetic import DEFAULT_SPEAKERS
    folder = Path(cfg.data_dir)
    if cfg.synthetic and not (folder / "cmu_intervals_df.csv").exists():
        unknown = [s for s in cfg.speaker if s not in DEFAULT_SPEAKERS]
        if unknown:
            raise ConfigError(f"-speaker {', '.join(unknown)}: not a speaker of the synthetic set "
                              f"({', '.join(DEFAULT_SPEAKERS)}); other names: write a set with `make-synthetic "
                              "--speakers ... --out <folder>` and pass it as -data_dir")
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ConfigError(f"{folder}: exists without cmu_intervals_df.csv; not writing the synthetic set into "
                              "it (delete it, or point -data_dir elsewhere)")
        return                                # written when the run starts (continual._prepare)
    have = list(dict.fromkeys(read_csv(folder)["speaker"].astype(str)))
    missing = [s for s in cfg.speaker if s not in have]
    if missing:
        hint = (" (a synthetic set written earlier for other speakers: pick from those, or delete the folder to "
                "write it anew)" if cfg.synthetic else "")
        raise DatasetMissingError(f"{cfg.data_dir}: no speaker {', '.join(missing)}; it has {', '.join(have)}{hint}")
    check_speaker_data(folder, cfg.speaker, cfg.vocab_size, cfg.time, cfg.fps)


def _prepare(cfg, run, log) -> Preprocessor:
    """Synthetic data (when asked and absent: the whole synthetic set, written atomically) and the source
    speaker's statistics, computed by rank 0 first."""
    from motionkit.training.ddp import barrier
    if cfg.synthetic and not (Path(cfg.data_dir) / "cmu_intervals_df.csv").exists() and run.is_main:
        from .data.synthetic import write_synthetic
        log(f"writing the synthetic PATS stand-in to {cfg.data_dir}")
        write_synthetic(cfg.data_dir)
    if not run.is_main:
        barrier(run.env)                      # rank 0 writes the data and caches the statistics first
    check_speakers(cfg)
    pre = Preprocessor.build(cfg.data_dir, cfg.speaker[:1], cfg.window_hop, cfg.num_clusters, cfg.mask, log=log)
    if run.is_main:
        barrier(run.env)
    return pre


def _steps(cfg, run, interrupt, log) -> bool:
    """Train steps t1..tN that have no final.pt yet; False when interrupted."""
    from motionkit.training.ddp import barrier
    if "speaker" in run.config_changes:
        old, new = run.config_changes["speaker"]
        if list(new[: len(old)]) != list(old):
            from motionkit.errors import ConfigError
            raise ConfigError(f"--resume with -speaker {','.join(new)}: the run's speakers {','.join(old)} must "
                              "start the list (only new speakers can be added)")
    pre = _prepare(cfg, run, log)
    device, env = run.device, (run.env if run.env.enabled else None)
    first = 1
    while first <= len(cfg.speaker) and (step_dir(run.dir, first, cfg.speaker[first - 1]) / "final.pt").exists():
        first += 1
    if first > len(cfg.speaker) and run.resuming:
        from motionkit.errors import ConfigError
        raise ConfigError(f"{run.dir}: finished (every step has final.pt), nothing to resume; run without --resume "
                          "for a new run, or add speakers to -speaker to continue the sequence")
    G = D = None
    if first > 1:
        prev = step_dir(run.dir, first - 1, cfg.speaker[first - 2]) / "final.pt"
        log(f"resuming after step {first - 1}: loading {prev}")
        _, G, D, _, _, _ = load_step(prev, device)
    for step in range(first, len(cfg.speaker) + 1):
        spk = cfg.speaker[step - 1]
        sdir = step_dir(run.dir, step, spk)
        seed_everything(cfg.seed + 1000 * step + run.env.rank)
        logger = RunLogger(sdir, use_tensorboard=cfg.tensorboard, enabled=run.is_main)
        logger.info(f"== step t{step}: {'Mix-StAGE' if step == 1 else cfg.gan + ' (' + cfg.replay + ')'} on "
                    f"{spk}; speakers so far {cfg.speaker[:step]}")
        stop = interrupt[1] if interrupt is not None and interrupt[0] == step else None
        if step == 1:
            G = build_generator(cfg).to(device)
            D = build_discriminator(cfg).to(device)
            res = train_t1(cfg, pre, G, D, sdir, device, env, logger, stop_after=stop)
        else:
            res = train_tn(cfg, pre, G, D, cfg.speaker[:step], sdir, device, env, logger, stop_after=stop)
        G, D = res.G, res.D
        if stop is not None:
            logger.info(f"interrupted after epoch {stop} of step {step} (continue with --resume)")
            logger.close()
            return False
        if run.is_main:
            _finish_step(cfg, step, sdir, G, D, pre, logger, device)
        logger.close()
        barrier(run.env)
    return True


def _finish_step(cfg, step, sdir, G, D, pre, logger, device) -> None:
    """Test metrics per speaker (own style and style transfer), loss curves and the step's final.pt."""
    spk = cfg.speaker[step - 1]
    test = evaluate_model(G, pre, cfg, cfg.speaker[:step], "test", device, kinds=("same", "style"))
    (sdir / "test_metrics.json").write_text(json.dumps(test, indent=1))
    hist = logger.history()
    if hist:
        from motionkit.viz import plot_curves
        plot_curves(sdir / "losses.png", {k: v for k, v in hist.items() if not k.startswith("dev")},
                    title=f"t{step} {spk}")
    logger.info("test pck per speaker: " + ", ".join(f"{s}={test[s]['pck']:.3f}" for s in cfg.speaker[:step]))
    save_step(sdir / "final.pt", cfg, step, G, D, pre)
