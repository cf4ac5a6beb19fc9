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
           "load_generator"]


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
        return compat.to_our_state(conv, resample_n or 64, note=f"converted from the original's {Path(path).name}")
    return state


def load_generator(path: str | Path, device="cpu", dataset: str | None = None,
                   resample_n: int | None = None) -> tuple[DeepNAGNet, dict]:
    """A generator from any checkpoint `load_checkpoint_any` reads -> (G on `device`, eval mode; extra)."""
    from motionkit.errors import CheckpointError

    state = load_checkpoint_any(path, dataset, resample_n)
    extra = dict(state.get("extra", {}), step=state.get("step"))
    weights = state.get("modules", {}).get("generator")
    if weights is None or "config" not in extra:
        raise CheckpointError(f"{path}: not a deepnag checkpoint (no generator weights or config)")
    cfg = extra["config"]
    G = DeepNAGNet(len(extra["class_names"]), extra["n_features"], cfg["latent_dim"], tuple(cfg["generator_hidden"]))
    try:
        G.load_state_dict({k: v.float() for k, v in weights.items()})
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: generator weights do not fit ({str(exc).splitlines()[0][:160]})") from None
    return G.to(device).eval(), extra
