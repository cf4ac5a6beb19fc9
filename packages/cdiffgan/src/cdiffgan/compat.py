"""The original C-DiffGAN's files: its save-folder names, ``_weights.p`` key names and the pickles beside them.

Read from the original's save code (pycasper ``BookKeeper`` / ``Name``, ``model/trainer.py``), not copied.

Save folder (``-save_dir``): every file is ``<prefix><kind>.<ext>`` with
``prefix = "exp_<N>_cpk_<cpk>_speaker_<str(speaker)>_model_<model>_note_<note>_"``; in each value '.' becomes '-'
(pycasper ``Name``). Kinds: ``weights.p`` (``torch.save`` of the GAN wrapper's ``state_dict``), ``args.args``
(JSON of every flag), ``name.name`` (a pickled ``pycasper.name.Name``), ``res.json`` (per-epoch lists),
``metrics.json`` / ``cummMetrics.json`` (test metrics per kind and speaker / overall), ``histogram.json`` and
``style.pkl`` (cluster histograms / per-frame soft cluster probabilities), ``log.log`` (start/end times) and the
``tb/`` folder; predictions go to ``<prefix without the last '_'>/keypoints[_style]/<split>/<speaker>/<id>.h5``.

``_weights.p`` keys: t1 (``GAN`` wrapper) ``G.<Mix-StAGE>`` and ``D.<Speech2Gesture_D>``; a DiffGAN step
(``StyleDiffGAN4_G`` in ``DiffGANAligned``) ``G.G.<Mix-StAGE>``, ``G.G_src.<Mix-StAGE>`` and ``D.*``.
The Mix-StAGE names differ from ours only in nesting (``conv.3.norm`` -> ``net.3.bn``); the table below maps them.
Modules the original builds but never uses (``pose_encoder``, ``style_dec``, ``smoothen``, ``eye``, the positional
encoding buffer) are dropped on reading and written back as they were read when we export.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import torch

from motionkit.errors import DataFormatError, DatasetMissingError

NAME_FIELDS = ("exp", "cpk", "speaker", "model", "note")
KINDS = ("weights.p", "args.args", "name.name", "res.json", "metrics.json", "cummMetrics.json", "histogram.json",
         "style.pkl", "log.log")
# the original's generator / GAN-mode names and what they are here
T1_MODELS = ("JointLateClusterSoftStyle5_G", "JointLateClusterSoftStyle4_G")
TN_MODELS = ("StyleDiffGAN4_G", "StyleDiffGAN3_G")
UNUSED_PREFIXES = ("pose_encoder.", "style_dec.", "style_dec_gr.", "smoothen.", "eye", "pos_encoder.pe")

# (original regex, ours) for the generator; applied in order, first match wins
_G_RULES = [
    (r"audio_encoder\.conv\.(\d+)\.norm\.", r"audio_encoder.net.\1.bn."),
    (r"audio_encoder\.conv\.(\d+)\.conv\.", r"audio_encoder.net.\1.conv."),
    (r"text_encoder\.0\.bert\.", r"text_encoder.bert."),
    (r"text_encoder\.0\.linear\.", r"text_encoder.proj."),
    (r"text_encoder\.0\.embed\.", r"text_encoder.embed."),     # ours only: the learned-embedding text encoder
    (r"concat_encoder\.memory_decoder\.", r"fusion.decoder."),
    (r"concat_encoder2\.0\.norm\.", r"fusion.out.bn."),
    (r"concat_encoder2\.0\.conv\.", r"fusion.out.conv."),
    (r"unet\.pre_downsampling_conv\.(\d+)\.norm\.", r"unet.pre.\1.bn."),
    (r"unet\.pre_downsampling_conv\.(\d+)\.conv\.", r"unet.pre.\1.conv."),
    (r"unet\.conv1\.(\d+)\.norm\.", r"unet.down.\1.bn."),
    (r"unet\.conv1\.(\d+)\.conv\.", r"unet.down.\1.conv."),
    (r"unet\.conv2\.(\d+)\.norm\.", r"unet.up.\1.bn."),
    (r"unet\.conv2\.(\d+)\.conv\.", r"unet.up.\1.conv."),
    (r"pose_style_encoder\.conv\.(\d+)\.norm\.", r"pose_style_encoder.net.\1.bn."),
    (r"pose_style_encoder\.conv\.(\d+)\.conv\.", r"pose_style_encoder.net.\1.conv."),
    (r"style_emb\.emb\.", r"style_emb."),
    (r"decoder\.(\d+)\.norm\.", r"decoder.\1.bn."),
    (r"decoder\.(\d+)\.conv\.", r"decoder.\1.conv."),
    (r"logits\.", r"logits."),
    (r"classify_cluster\.conv\.(\d+)\.norm\.", r"classify_cluster.\1.bn."),
    (r"classify_cluster\.conv\.(\d+)\.conv\.", r"classify_cluster.\1.conv."),
    (r"classify_cluster\.logits\.", r"classify_cluster.{last}."),
]
_D_RULES = [
    (r"conv1\.0\.", r"conv0."),
    (r"conv2\.0\.norm\.", r"net.0.bn."),
    (r"conv2\.0\.conv\.", r"net.0.conv."),
    (r"conv3\.norm\.", r"net.1.bn."),
    (r"conv3\.conv\.", r"net.1.conv."),
    (r"logits\.", r"net.2."),
]


# ---------------------------------------------------------------- names
def name_value(value) -> str:
    """One value as pycasper's Name writes it: ``str(value)`` with every '.' replaced by '-'."""
    return "-".join(str(value).split("."))


def save_prefix(exp, cpk, speaker, model, note) -> str:
    """``exp_<N>_cpk_<cpk>_speaker_<speaker>_model_<model>_note_<note>_`` (the trailing '_' included)."""
    vals = dict(zip(NAME_FIELDS, (exp, cpk, speaker, model, note)))
    return "".join(f"{k}_{name_value(v)}_" for k, v in vals.items())


def next_experiment_number(counter: Path) -> int:
    """The original's ``-exp 1``: a counter file (``./.experiments``) holding the last number, incremented."""
    counter = Path(counter)
    n = 0
    if counter.exists():
        text = counter.read_bytes().decode("utf-8", errors="replace").strip()
        if not text.isdigit():
            raise DataFormatError(f"{counter}: expected one integer (the last experiment number), got {text[:40]!r}")
        n = int(text) + 1
    counter.write_text(f"{n}\n")
    return n


def sibling(weights: Path, kind: str) -> Path:
    """``..._weights.p`` -> the file of another kind beside it (``args.args``, ``name.name``, ...)."""
    weights = Path(weights)
    if not weights.name.endswith("_weights.p"):
        raise DataFormatError(f"{weights}: not an original save file (expected a name ending in _weights.p)")
    return weights.with_name(weights.name[: -len("weights.p")] + kind)


def read_args(path) -> dict:
    """The ``_args.args`` JSON (every flag of the run)."""
    path = Path(path)
    if not path.exists():
        raise DatasetMissingError(f"{path}: not found (the original writes it beside _weights.p)")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder, not the original's JSON of flags")
    try:
        args = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise DataFormatError(f"{path}: not UTF-8 text (byte {e.start}); the original writes UTF-8 JSON") from None
    except json.JSONDecodeError as e:
        raise DataFormatError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(args, dict):
        raise DataFormatError(f"{path}: expected a JSON object of flags, got {type(args).__name__}")
    return args


# ---------------------------------------------------------------- restricted pickles
class PycasperName:
    """Stand-in for ``pycasper.name.Name`` when reading ``_name.name`` (only its ``name`` string is kept)."""

    name: str = ""


_NUMPY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                  ("numpy._core.multiarray", "scalar")}


class _Restricted(pickle.Unpickler):
    """Only the classes the original's pickles hold: pycasper's Name and numpy arrays."""

    allowed: set = set()

    def find_class(self, module, name):
        if (module, name) == ("pycasper.name", "Name") and ("pycasper.name", "Name") in self.allowed:
            return PycasperName
        if (module, name) in self.allowed and module.startswith("numpy"):
            import numpy
            if name in ("ndarray", "dtype"):
                return getattr(numpy, name)
            import importlib
            return getattr(importlib.import_module(module), name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (not a class the original's files hold)")


def restricted_load(path, allowed) -> object:
    """Unpickle `path` allowing only the (module, name) pairs in `allowed`; anything else is one-line error."""
    path = Path(path)
    if not path.exists():
        raise DatasetMissingError(f"{path}: not found")
    with open(path, "rb") as fh:
        up = _Restricted(fh)
        up.allowed = set(allowed)
        try:
            return up.load()
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as e:
            raise DataFormatError(f"{path}: {e}") from None


def read_name_file(path) -> str:
    """The run's name prefix from ``_name.name`` (a pickled pycasper Name)."""
    obj = restricted_load(path, {("pycasper.name", "Name")})
    if not isinstance(obj, PycasperName) or not isinstance(getattr(obj, "name", None), str):
        raise DataFormatError(f"{path}: expected a pickled pycasper Name with a 'name' string")
    return obj.name


def write_name_file(path, prefix: str) -> None:
    """Write ``_name.name`` so the original's ``pickle.load`` gets a ``pycasper.name.Name`` with ``.name``."""
    # protocol 2 pickle of an object of class pycasper.name.Name whose __dict__ is {'name': prefix}
    body = (b"\x80\x02cpycasper.name\nName\nq\x00)\x81q\x01}q\x02X\x04\x00\x00\x00nameq\x03"
            + b"X" + len(prefix.encode()).to_bytes(4, "little") + prefix.encode() + b"q\x04sb.")
    Path(path).write_bytes(body)


def read_style_pkl(path) -> dict:
    """``_style.pkl``: {kind: {split: {speaker: (N, K) float array}}} (numpy arrays only)."""
    return restricted_load(path, _NUMPY_GLOBALS)


# ---------------------------------------------------------------- weights
def _map(key: str, rules, last: int) -> str | None:
    for pat, rep in rules:
        m = re.fullmatch(pat + r"(.*)", key)
        if m:
            return re.sub(pat, rep.replace("{last}", str(last)), key, count=1)
    return None


def generator_from_original(sd: dict, prefix: str) -> dict:
    """Keys under `prefix` (``G.`` or ``G.G.``) of an original state dict -> our MixStAGE names."""
    sub = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    last = 1 + max((int(m.group(1)) for k in sub for m in [re.match(r"classify_cluster\.conv\.(\d+)\.", k)] if m),
                   default=-1)
    out = {}
    for k, v in sub.items():
        if k.startswith(UNUSED_PREFIXES) or k.startswith("G_src.") or k.startswith("G."):
            continue
        new = _map(k, _G_RULES, last)
        if new is None:
            raise DataFormatError(f"unknown generator key {prefix}{k} in the original's weights")
        out[new] = v
    return out


def discriminator_from_original(sd: dict) -> dict:
    out = {}
    for k, v in sd.items():
        if k.startswith("D."):
            new = _map(k[2:], _D_RULES, 0)
            if new is None:
                raise DataFormatError(f"unknown discriminator key {k} in the original's weights")
            out[new] = v
    return out


def load_original_weights(path) -> dict:
    """Read an original ``_weights.p``: {"kind": "t1"|"diffgan", "G": ours, "G_src": ours|None, "D": ours}.

    torch.load with ``weights_only=True`` (a restricted unpickler: tensors and containers only)."""
    path = Path(path)
    if not path.exists():
        raise DatasetMissingError(f"{path}: weights file not found")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder, not a weights file")
    from motionkit.training.checkpoint import verify_integrity
    verify_integrity(path)              # the zip container's CRC-32 of every record: a damaged file is one line
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, ...
        raise DataFormatError(f"{path}: not a torch state dict ({str(e).splitlines()[0][:160]})") from None
    if not isinstance(sd, dict) or not any(k.startswith("G.") for k in sd):
        raise DataFormatError(f"{path}: no 'G.*' keys (not a weights file of the original's GAN wrapper)")
    diffgan = any(k.startswith("G.G.") for k in sd)
    return {"kind": "diffgan" if diffgan else "t1",
            "G": generator_from_original(sd, "G.G." if diffgan else "G."),
            "G_src": generator_from_original(sd, "G.G_src.") if diffgan else None,
            "D": discriminator_from_original(sd)}


def generator_to_original(sd: dict, prefix: str) -> dict:
    """Our MixStAGE state dict -> the original's names under `prefix`."""
    last = 1 + max((int(m.group(1)) for k in sd for m in [re.match(r"classify_cluster\.(\d+)\.conv\.", k)] if m),
                   default=-1)
    inverse = _inverse_rules(_G_RULES, last)
    return {prefix + _rename(k, inverse): v for k, v in sd.items()}


def discriminator_to_original(sd: dict) -> dict:
    inverse = _inverse_rules(_D_RULES, 0)
    return {"D." + _rename(k, inverse): v for k, v in sd.items()}


def _inverse_rules(rules, last):
    """(our regex, original replacement) pairs from the original -> ours table."""
    out = []
    for pat, rep in rules:
        ours = rep.replace("{last}", str(last))
        ours_pat = re.escape(ours).replace(re.escape(r"\1"), r"(\d+)")
        orig_rep = pat.replace(r"(\d+)", r"\1").replace("\\.", ".")
        out.append((ours_pat, orig_rep))
    return out


def _rename(key: str, inverse) -> str:
    for pat, rep in inverse:
        if re.match(pat, key):
            return re.sub(pat, rep, key, count=1)
    raise DataFormatError(f"no original name for our key {key}")


def infer_sizes(G_sd: dict) -> dict:
    """Config fields of a generator from its (our-named) state dict: hidden, num_clusters, max_num_speakers,
    style_dim, pose features, BERT or embedding text encoder, cluster/decoder depth."""
    emb = G_sd["style_emb.weight"]
    S, sd = emb.shape
    C = G_sd["fusion.out.conv.weight"].shape[0]
    n_cls = len({k.split(".")[1] for k in G_sd if k.startswith("classify_cluster.")})
    K = G_sd[f"classify_cluster.{n_cls - 1}.weight"].shape[0]
    P = G_sd["logits.weight"].shape[0] // K
    n_dec = len({k.split(".")[1] for k in G_sd if k.startswith("decoder.")})
    bert = any(k.startswith("text_encoder.bert.") for k in G_sd)
    out = {"hidden": C, "num_clusters": K, "max_num_speakers": S, "style_dim": sd, "pose_features": P,
           "cluster_layers": n_cls - 2, "decoder_layers": n_dec, "text_encoder": "bert" if bert else "embedding"}
    if bert:
        out["vocab_size"] = G_sd["text_encoder.bert.embeddings.word_embeddings.weight"].shape[0]
        out["bert_layers"] = len({k.split(".")[4] for k in G_sd if k.startswith("text_encoder.bert.encoder.layer.")})
        out["bert_hidden"] = G_sd["text_encoder.bert.embeddings.word_embeddings.weight"].shape[1]
    else:
        out["vocab_size"] = G_sd["text_encoder.embed.weight"].shape[0]
    out["transformer_layers"] = len({k.split(".")[3] for k in G_sd if k.startswith("fusion.decoder.layers.")})
    out["transformer_ff"] = G_sd["fusion.decoder.layers.0.linear1.weight"].shape[0]
    return out


def bert_config_of(G_sd: dict) -> dict:
    """BertConfig arguments of the BERT inside a generator state dict (our names): sizes from the weight shapes;
    heads = hidden / 64 as in every published BERT (bert-base-uncased: 768 / 12)."""
    p = "text_encoder.bert."
    if p + "embeddings.word_embeddings.weight" not in G_sd:
        raise DataFormatError("the weights hold no BERT (text_encoder.bert.*) but the config asks for a BERT")
    vocab, hidden = G_sd[p + "embeddings.word_embeddings.weight"].shape
    layers = {k[len(p):].split(".")[2] for k in G_sd if k.startswith(p + "encoder.layer.")}
    return {"vocab_size": int(vocab), "hidden_size": int(hidden), "num_hidden_layers": len(layers),
            "num_attention_heads": max(1, int(hidden) // 64),
            "intermediate_size": int(G_sd[p + "encoder.layer.0.intermediate.dense.weight"].shape[0]),
            "max_position_embeddings": int(G_sd[p + "embeddings.position_embeddings.weight"].shape[0]),
            "type_vocab_size": int(G_sd[p + "embeddings.token_type_embeddings.weight"].shape[0])}
