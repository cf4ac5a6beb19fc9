"""DeepNAG / DeepGAN networks, and the factories that build them from a config or load them from a file.

    build_generator(cfg, n_classes, n_features) -> DeepNAGNet
    build_critic(cfg, n_classes, n_features)    -> DeepGANCritic
    load_generator(path_or_name, device)        -> (DeepNAGNet in eval mode, extra)

`load_generator` reads our checkpoints (run folders' last.pt / best.pt / ckpt_*.pt, the shipped pretrained
files), the original DeepNAG's `checkpoint-*.tar` files, and the original's four released models by name
(`original:DeepNAG/dollar-gds`, downloaded once and verified, see deepnag.original_models).
The original README's paths `pretrained_models/<model>/<dataset>/checkpoint-best.tar` mean the same released
models when no such file exists here.
`extra` holds what evaluation needs: the config dict, class names, feature count, normaliser state.
"""

from __future__ import annotations

from pathlib import Path

from deepnag.models.critic import DeepGANCritic
from deepnag.models.generator import DeepNAGNet
from deepnag.models.gru import DoubleBackwardGRU

__all__ = ["DeepGANCritic", "DeepNAGNet", "DoubleBackwardGRU", "build_critic", "build_generator", "load_checkpoint_any",
           "load_generator", "check_generator_state"]


def build_generator(cfg, n_classes: int, n_features: int) -> DeepNAGNet:
    """The generator of cfg (latent_dim, generator_hidden) for C classes and F features."""
    return DeepNAGNet(n_classes, n_features, cfg.latent_dim, tuple(cfg.generator_hidden))


def build_critic(cfg, n_classes: int, n_features: int) -> DeepGANCritic:
    """DeepGAN's critic of cfg (critic_hidden) for C classes and F features."""
    return DeepGANCritic(n_classes, n_features, tuple(cfg.critic_hidden))


def load_checkpoint_any(path: str | Path, dataset: str | None = None, resample_n: int | None = None) -> dict:
    """Our checkpoint dict for `path` (ours as it is; the original's converted; `original:<name>` fetched).

    dataset / resample_n: for original files only (they store neither); None = infer / the original's 64.
    """
    from deepnag import compat
    from deepnag.original_models import fetch_original_model, released_name_for_path

    released = released_name_for_path(path)  # the original README's pretrained_models/... path, not here
    if released is not None:
        path = f"original:{released}"
    if str(path).startswith("original:"):
        path = fetch_original_model(str(path)[len("original:"):])
    state = compat.read_checkpoint(path)
    if compat.is_original(state):
        conv = compat.convert_original(state, path, dataset)
        state = compat.to_our_state(conv, resample_n or 64, note=f"converted from the original's {Path(path).name}")
    check_generator_state(state, path)
    return state


def check_generator_state(state: dict, path: str | Path) -> None:
    """One line unless `state` is a deepnag checkpoint a generator can be built from: generator weights (all
    finite: a file saved from a diverged run, or damaged where no checksum covers it, is refused, not rendered
    as NaN samples), its config, class list, feature count and a finite normaliser."""
    import numpy as np
    import torch

    from motionkit.errors import CheckpointError

    modules, extra = state.get("modules"), state.get("extra")
    weights = modules.get("generator") if isinstance(modules, dict) else None
    needed = ("config", "class_names", "n_features", "normalizer")
    if not isinstance(weights, dict) or not isinstance(extra, dict) or any(k not in extra for k in needed):
        raise CheckpointError(f"{path}: not a deepnag checkpoint (it needs generator weights and "
                              f"extra {', '.join(needed)}; a foreign file?)")
    for key, value in weights.items():
        if not isinstance(value, torch.Tensor) or not bool(torch.isfinite(value.float()).all()):
            raise CheckpointError(f"{path}: generator weight {key} is not a finite tensor (a diverged or damaged "
                                  "checkpoint); use an earlier one")
    try:
        finite = bool(np.isfinite(np.asarray([extra["normalizer"]["lo"], extra["normalizer"]["hi"]],
                                             dtype=np.float64)).all())
    except (KeyError, TypeError, ValueError):
        finite = False
    if not finite:
        raise CheckpointError(f"{path}: its normaliser bounds are missing or not finite; use another checkpoint")


def load_generator(path: str | Path, device="cpu", dataset: str | None = None,
                   resample_n: int | None = None) -> tuple[DeepNAGNet, dict]:
    """A generator from any checkpoint `load_checkpoint_any` reads -> (G on `device`, eval mode; extra)."""
    from motionkit.errors import CheckpointError

    state = load_checkpoint_any(path, dataset, resample_n)
    extra = dict(state["extra"], step=state.get("step"))
    weights = state["modules"]["generator"]
    cfg = extra["config"]
    try:
        G = DeepNAGNet(len(extra["class_names"]), int(extra["n_features"]), int(cfg["latent_dim"]),
                       tuple(int(h) for h in cfg["generator_hidden"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: its config lacks or garbles the generator's sizes ({exc!r})") from None
    try:
        G.load_state_dict({k: v.float() for k, v in weights.items()})
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: generator weights do not fit ({str(exc).splitlines()[0][:160]})") from None
    return G.to(device).eval(), extra
