"""Architectures and their factories.

``build_*(cfg)`` makes a fresh model of the config's sizes; ``load_*(path, cfg)`` restores one from our checkpoint
(``{"modules": {"cvae" | "sampler" | "classifier": state_dict}}``) or from the authors' released ``.pth``
(``{"model": state_dict}`` with the original's names, see ``compat.py``), read with a restricted unpickler.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from diverse_sampling import compat
from diverse_sampling.config import Config
from diverse_sampling.data.layout import get_layout
from diverse_sampling.models.classifier import ActionClassifier
from diverse_sampling.models.cvae import CVAE
from diverse_sampling.models.dct import DCTCodec, dct_matrix
from diverse_sampling.models.forecast import sample_futures, t2_predict
from diverse_sampling.models.sampler import DiverseSampler
from motionkit.errors import CheckpointError

__all__ = [
    "ActionClassifier", "CVAE", "DCTCodec", "DiverseSampler", "dct_matrix", "sample_futures", "t2_predict",
    "build_cvae", "build_sampler", "build_classifier", "load_cvae", "load_sampler", "load_classifier",
    "checkpoint_kind", "weights_digest", "check_cvae_pairing",
]


def build_cvae(cfg: Config) -> CVAE:
    """The t1 CVAE (notes 2.3): 1.777 M parameters at the H36M paper sizes."""
    n = get_layout(cfg.dataset).n_nodes
    return CVAE(n, cfg.t_his, cfg.t_pred, cfg.dct_n, cfg.hidden_dim, cfg.z_dim, cfg.cvae_enc_blocks,
                cfg.cvae_dec_blocks, cfg.dropout)


def build_sampler(cfg: Config) -> DiverseSampler:
    """The t2 DiverseSampling sampler (notes 3.1): 21.3 M parameters at the H36M paper sizes."""
    n = get_layout(cfg.dataset).n_nodes
    return DiverseSampler(n, 3 * cfg.dct_n, cfg.hidden_dim, cfg.sampler_enc_blocks, cfg.n_bases, cfg.base_dim,
                          cfg.ngamma_hidden, cfg.z_dim, cfg.tau, cfg.dropout)


def build_classifier(cfg: Config, hidden: int | None = None, layers: int | None = None,
                     feat: int | None = None) -> ActionClassifier:
    """The GRU action classifier of FID / ACC (sizes from the config unless given)."""
    layout = get_layout(cfg.dataset)
    return ActionClassifier(layout.n_nodes * 3, len(layout.labels), hidden or cfg.cls_hidden,
                            layers or cfg.cls_layers, feat or cfg.cls_feat, cfg.classifier_random_h0)


def checkpoint_kind(path: str | Path) -> compat.Kind:
    """Which model a checkpoint holds: "cvae" (t1), "sampler" (t2) or "classifier"; ours or the authors'."""
    state = compat.read_pth(path)
    if compat.is_original(state):
        return compat.original_kind(state, str(path))
    modules = state.get("modules")
    if not isinstance(modules, dict):
        raise CheckpointError(f"{path}: neither our checkpoint ('modules') nor the authors' ('model'); has "
                              f"{sorted(state)[:6]}")
    for kind in ("sampler", "cvae", "classifier"):
        if kind in modules:
            return kind  # type: ignore[return-value]
    raise CheckpointError(f"{path}: holds none of cvae, sampler, classifier (has {sorted(modules)})")


def _state_for(path: str | Path, kind: compat.Kind, template: dict) -> tuple[dict, dict]:
    """(our state dict of ``kind``, our checkpoint's ``extra`` or {}) from either file format."""
    state = compat.read_pth(path)
    if compat.is_original(state):
        found = compat.original_kind(state, str(path))
        if found != kind:
            raise CheckpointError(f"{path}: holds the original's {found}, not a {kind}")
        return compat.from_original_state(state["model"], template, kind, str(path)), {}
    modules = state.get("modules")
    if not isinstance(modules, dict) or kind not in modules:
        has = sorted(modules) if isinstance(modules, dict) else sorted(state)[:6]
        raise CheckpointError(f"{path}: has no {kind} (has {has})")
    return modules[kind], dict(state.get("extra", {}))


def _fill(model: torch.nn.Module, state: dict, path: str | Path, kind: str) -> None:
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: the {kind} does not fit this config ({str(exc).splitlines()[0][:160]})"
                              ) from None


def load_cvae(path: str | Path, cfg: Config, device: str | torch.device = "cpu", frozen: bool = True) -> CVAE:
    """The t1 CVAE of a checkpoint (ours or the authors'); ``frozen``: requires_grad off and eval mode."""
    cvae = build_cvae(cfg)
    state, _ = _state_for(path, "cvae", cvae.state_dict())
    _fill(cvae, state, path, "cvae")
    cvae.to(device)
    if frozen:
        cvae.eval()
        for p in cvae.parameters():
            p.requires_grad_(False)
    return cvae


def load_sampler(path: str | Path, cfg: Config, device: str | torch.device = "cpu") -> DiverseSampler:
    """The t2 sampler of a checkpoint (ours or the authors'), in eval mode."""
    sampler = build_sampler(cfg)
    state, _ = _state_for(path, "sampler", sampler.state_dict())
    _fill(sampler, state, path, "sampler")
    return sampler.to(device).eval()


def load_classifier(path: str | Path, cfg: Config, device: str | torch.device = "cpu") -> ActionClassifier:
    """The FID/ACC classifier of a checkpoint (ours: sizes from its ``extra``; the authors': 2 x 128 GRU, 30)."""
    state = compat.read_pth(path)
    extra = {} if compat.is_original(state) else dict(state.get("extra", {}))
    if compat.is_original(state):
        extra = {"cls_hidden": 128, "cls_layers": 2, "cls_feat": 30}  # the released classifier's sizes
    clf = build_classifier(cfg, extra.get("cls_hidden"), extra.get("cls_layers"), extra.get("cls_feat"))
    sd, _ = _state_for(path, "classifier", clf.state_dict())
    _fill(clf, sd, path, "classifier")
    return clf.to(device).eval()


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 (first 16 hex digits) of a model's state: names, shapes and values of every tensor."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def check_cvae_pairing(sampler_path: str | Path, cvae: CVAE, t1_path: str | Path) -> None:
    """A t2 checkpoint of ours records the digest of the CVAE it was trained with (``extra["t1_digest"]``); another
    CVAE under it (a t1 run trained on or a newer run of the same name) is a one-line CheckpointError. The
    authors' released files record none, and pass."""
    state = compat.read_pth(sampler_path)
    extra = {} if compat.is_original(state) else dict(state.get("extra", {}) or {})
    want = extra.get("t1_digest")
    if want and want != weights_digest(cvae):
        raise CheckpointError(f"{sampler_path}: its sampler was trained with the CVAE of {extra.get('t1_checkpoint')}"
                              f", but {t1_path} holds other weights; pass --t1_checkpoint="
                              f"{extra.get('t1_checkpoint')}")
