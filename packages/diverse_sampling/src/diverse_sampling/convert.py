"""``convert``: the authors' released ``.pth`` (t1 CVAE, t2 sampler or classifier) -> our checkpoint format.

Ours is ``{"step", "modules": {"cvae" | "sampler" | "classifier": state_dict}, "extra"}`` (what ``motionkit``'s
Checkpointer writes, without the RNG state). The weights are the same numbers; only names and the ``att``
orientation change (``compat.py``). Anything but one of those three models in the file is a one-line error.
"""

from __future__ import annotations

from pathlib import Path

from diverse_sampling import compat
from diverse_sampling.config import Config
from diverse_sampling.models import load_classifier, load_cvae, load_sampler
from motionkit.errors import CheckpointError
from motionkit.training import save_checkpoint


def convert_checkpoint(cfg: Config, model_path: str | Path, out: str | Path | None = None) -> Path:
    """Write ``model_path`` (the authors' format) as ours at ``out`` (default: beside it, ``<stem>.pt``)."""
    if out and Path(out).is_dir():
        raise CheckpointError(f"--out {out}: is a folder; name the file to write (e.g. {Path(out) / 'model.pt'})")
    state = compat.read_pth(model_path)
    if not compat.is_original(state):
        raise CheckpointError(f"{model_path}: already in our format (it has 'modules'); nothing to convert")
    kind = compat.original_kind(state, str(model_path))
    if kind == "cvae":
        model = load_cvae(model_path, cfg, frozen=False)
    elif kind == "sampler":
        model = load_sampler(model_path, cfg)
    else:
        model = load_classifier(model_path, cfg)
    extra = {"converted_from": str(model_path), "original_epoch": state.get("epoch")}
    if kind == "classifier":
        extra.update(cls_hidden=model.hidden, cls_layers=model.layers, cls_feat=model.feat.out_features)
    out = Path(out) if out else Path(model_path).with_suffix(".pt")
    save_checkpoint(out, {"step": int(state.get("epoch") or 0), "modules": {kind: model.state_dict()}, "extra": extra})
    return out
