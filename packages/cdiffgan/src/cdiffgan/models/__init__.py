"""Model factories: ``build_*(cfg)`` for new models, ``load_*(path)`` for our checkpoints and the original's.

- :func:`build_generator` / :func:`build_discriminator`: Mix-StAGE and the velocity PatchGAN at the config's sizes.
- :func:`save_step` / :func:`load_step`: our self-contained step checkpoint ``final.pt`` (config, speakers so far,
  G, D, normalisation and k-means statistics), so loading step 5 never rebuilds steps 1-4.
- :func:`load_original_step`: the original's ``..._weights.p`` (+ ``_args.args`` beside it), see
  :mod:`cdiffgan.compat`.
"""

from __future__ import annotations

from pathlib import Path

from motionkit.config import config_to_dict, load_config
from motionkit.training import load_checkpoint, save_checkpoint

from ..config import Config
from ..data.clusters import Preprocessor
from .discriminator import VelocityPatchD
from .mixstage import MixStAGE

__all__ = ["build_generator", "build_discriminator", "save_step", "load_step", "MixStAGE", "VelocityPatchD"]


def build_generator(cfg: Config, bert_config: dict | None = None) -> MixStAGE:
    """Mix-StAGE at the config's sizes; ``bert_config`` builds a BERT of that architecture without weights
    (for checkpoints that hold them)."""
    return MixStAGE(P=2 * (52 - len(cfg.mask)), C=cfg.hidden, K=cfg.num_clusters, S=cfg.max_num_speakers,
                    style_dim=cfg.style_dim, vocab_size=cfg.vocab_size, text_encoder=cfg.text_encoder,
                    bert_path=cfg.bert_path, layers=cfg.transformer_layers, heads=cfg.transformer_heads,
                    ff=cfg.transformer_ff, dropout=cfg.dropout, cluster_layers=cfg.cluster_layers,
                    decoder_layers=cfg.decoder_layers, bert_config=bert_config, bert_padding=cfg.bert_padding)


def build_discriminator(cfg: Config) -> VelocityPatchD:
    return VelocityPatchD(2 * (52 - len(cfg.mask)))


def save_step(path, cfg: Config, step: int, G, D, pre: Preprocessor) -> None:
    """Our self-contained checkpoint of continual step `step` (speakers so far = cfg.speaker[:step])."""
    state = {"config": config_to_dict(cfg), "speakers": list(cfg.speaker[:step]), "step": step,
             "G": G.state_dict(), "D": D.state_dict(), "pre": pre.state()}
    if G.text_encoder.kind == "bert":       # the architecture, so loading needs no BERT folder
        state["bert_config"] = {k: v for k, v in G.text_encoder.bert.config.to_dict().items()
                                if isinstance(v, int | float | str | bool)}
    save_checkpoint(path, state)


def load_step(path, device="cpu"):
    """(cfg, G, D, pre, speakers, step) from :func:`save_step`'s file."""
    from motionkit.errors import CheckpointError, ConfigError
    s = load_checkpoint(Path(path), map_location=device)
    missing = [k for k in ("config", "G", "D", "pre", "speakers", "step") if k not in s]
    if missing:
        raise CheckpointError(f"{path}: not a cdiffgan step checkpoint (final.pt); it lacks {', '.join(missing)}")
    try:
        cfg = load_config(Config, None, dict(s["config"]))
    except (ConfigError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: its saved config is not valid ({e})") from None
    try:
        G = build_generator(cfg, s.get("bert_config")).to(device)
        G.load_state_dict(s["G"])
        D = build_discriminator(cfg).to(device)
        D.load_state_dict(s["D"])
        pre = Preprocessor.from_state(s["pre"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: its weights do not fit its saved config (hidden={cfg.hidden}, "
                              f"num_clusters={cfg.num_clusters}): {str(e).splitlines()[0][:160]}") from None
    return cfg, G, D, pre, list(s["speakers"]), s["step"]
