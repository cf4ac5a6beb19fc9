"""One step run from the original's flags (:mod:`cdiffgan.compat_train`), writing the original's save folder.

Files under ``-save_dir`` (prefix ``exp_<N>_cpk_<cpk>_speaker_<speaker>_model_<model>_note_<note>_``):
``weights.p`` (the original's key names: t1 ``G.*``/``D.*``; t>=2 ``G.G.*``, ``G.G_src.*``, ``D.*``),
``args.args`` (every flag, JSON), ``name.name``, ``res.json`` (per-epoch lists: ``train`` = mean generator loss,
``dev`` = dev L1, ``dev_<metric>``), ``metrics.json`` (test metrics per sampling kind 'same'/'style' and speaker,
keys ``test_<metric>``), ``cummMetrics.json`` (over all test windows), ``histogram.json`` (argmax counts of the
predicted cluster probabilities per kind/split/speaker), ``style.pkl`` (those probabilities per frame, test only,
after a zero row as the original), ``log.log`` (start/end), ``tb/`` (with ``-tb 1``), and
``<prefix without '_'>/keypoints[_style]/{train,dev,test}/<speaker>/<interval>.h5`` (``pose/normalize`` (T, 2, 52),
root at 0). Deviations: predictions are made per 64-frame window (hop 0) and concatenated per interval, so an
interval's last frames that do not fill a window are not predicted; test metrics are computed once, after
training (the original also computed them every epoch); ``-exp 1`` counts in ``<save_dir>/.experiments`` (the
original: ``./.experiments`` in the working directory).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from motionkit.training import RunLogger, seed_everything
from motionkit.training.device import resolve_device

from . import compat
from .config import Config
from .data.clusters import Preprocessor, kept_joints
from .data.pats import N_JOINTS, PatsData
from .metrics import evaluate_model
from .models import build_discriminator, build_generator, load_step
from .train import train_t1, train_tn


def run_step(flags: dict, cfg: Config, kind: str, speakers: list[str], log=print) -> Path:
    """Train one step (t1 or a few-shot step) and write the save folder; returns the weights file."""
    save_dir = Path(flags["save_dir"])
    save_dir.mkdir(parents=True, exist_ok=True)
    flags = dict(flags)
    if flags["exp"] is not None:
        flags["exp"] = compat.next_experiment_number(save_dir / ".experiments")
    else:
        flags["exp"] = 0
    prefix = compat.save_prefix(flags["exp"], flags["cpk"], flags["speaker"], flags["model"], flags["note"])
    out = save_dir / prefix[:-1]
    file = lambda k: save_dir / f"{prefix}{k}"                                   # noqa: E731
    file("log.log").write_text(f"S: {datetime.now()}\n")
    compat.write_name_file(file("name.name"), prefix)
    file("args.args").write_text(json.dumps(flags))
    log(f"experiment {flags['exp']}: {kind} on {speakers} -> {save_dir}/{prefix}*")
    device = resolve_device(cfg.device)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    pre = Preprocessor.build(cfg.data_dir, cfg.speaker[:1], cfg.window_hop, cfg.num_clusters, cfg.mask, log=log)
    logger = RunLogger(out / "train", use_tensorboard=False, enabled=True)
    if kind == "t1":
        if not flags["style_iters"]:                # the original: one pass over the train windows per epoch
            n = cfg.t1_k_shot or len(PatsData(cfg.data_dir, cfg.speaker, "train", cfg.window_hop, cfg.time, cfg.fps,
                                                   cfg.vocab_size))
            cfg = dataclasses.replace(cfg, style_iters=max(1, -(-n // cfg.batch_size)))
        G, D = build_generator(cfg).to(device), build_discriminator(cfg).to(device)
        res = train_t1(cfg, pre, G, D, out / "train", device, None, logger)
        state = {**compat.generator_to_original(res.G.state_dict(), "G."),
                 **compat.discriminator_to_original(res.D.state_dict())}
    else:
        G, D = load_previous(flags["pretrained_model_weights"], cfg, device)
        G_src = copy.deepcopy(G)
        res = train_tn(cfg, pre, G, D, speakers, out / "train", device, None, logger)
        state = {**compat.generator_to_original(res.G.state_dict(), "G.G."),
                 **compat.discriminator_to_original(res.D.state_dict())}
        if flags["model"] != "StyleDiffGAN3_G":     # StyleDiffGAN3_G has no frozen source copy
            state.update(compat.generator_to_original(G_src.state_dict(), "G.G_src."))
    torch.save(state, file("weights.p"))
    file("res.json").write_text(json.dumps(res_lists(logger.history())))
    if flags["tb"]:
        write_tensorboard(file("tb"), logger.history())
    logger.close()
    sample(cfg, pre, res.G, speakers, out, file, device)
    file("log.log").write_text(file("log.log").read_text() + f"E: {datetime.now()}\n")
    if cfg.render_n > 0:
        from .render import render_original
        render_original(file("weights.p"), cfg.render_n, log=log)
    log(f"wrote {file('weights.p')}")
    return file("weights.p")


def load_previous(path, cfg: Config, device):
    """G and D of the previous step from its ``_weights.p`` (the original's or ours) or our ``final.pt``."""
    path = Path(path)
    if path.suffix == ".pt":
        _, G, D, _, _, _ = load_step(path, device)
        return G, D
    read = compat.load_original_weights(path)
    sizes = compat.infer_sizes(read["G"])
    if sizes["pose_features"] != 2 * (N_JOINTS - len(cfg.mask)):
        raise compat.DataFormatError(f"{path}: {sizes['pose_features']} pose features, but -mask {cfg.mask} gives "
                                     f"{2 * (N_JOINTS - len(cfg.mask))}")
    fields = {k: sizes[k] for k in ("hidden", "num_clusters", "max_num_speakers", "style_dim", "cluster_layers",
                                    "decoder_layers", "text_encoder", "vocab_size", "transformer_layers",
                                    "transformer_ff")}
    cfg = dataclasses.replace(cfg, **fields)
    bert = compat.bert_config_of(read["G"]) if sizes["text_encoder"] == "bert" else None
    G = build_generator(cfg, bert).to(device)
    G.load_state_dict(read["G"])
    D = build_discriminator(cfg).to(device)
    D.load_state_dict(read["D"])
    return G, D


def write_tensorboard(folder: Path, history: dict) -> None:
    """The original's ``<prefix>tb/``: every logged scalar per epoch (tensorboardX)."""
    from tensorboardX import SummaryWriter
    with SummaryWriter(str(folder)) as writer:
        for key, points in history.items():
            for step, value in points:
                writer.add_scalar(key, value, step)


def res_lists(history: dict) -> dict:
    """The original's res.json: per-epoch lists ('train' = mean generator loss, 'dev' = dev L1, dev_<metric>)."""
    res = {"train": [v for _, v in history.get("G", [])], "dev": [v for _, v in history.get("dev_L1", [])],
           "test": []}
    for key, points in history.items():
        if key.startswith("dev_"):
            res[key] = [v for _, v in points]
    return res


@torch.no_grad()
def sample(cfg, pre, G, speakers, out: Path, file, device) -> None:
    """The original's sample(): keypoints of every split, test metrics, cluster histograms and soft labels."""
    test = evaluate_model(G, pre, cfg, speakers, "test", device, kinds=("same", "style"))
    split_metrics = {"same": {}, "style": {}}
    for key, vals in test.items():
        if key.startswith("_"):
            continue
        spk, _, kind = key.partition("/")
        split_metrics[kind or "same"][spk] = {f"test_{m}": v for m, v in vals.items()}
    file("metrics.json").write_text(json.dumps(split_metrics))
    file("cummMetrics.json").write_text(json.dumps({f"test_{m}": v for m, v in test["_overall"].items()}))
    K = cfg.num_clusters
    hist = {kind: {split: {s: [0.0] * K for s in speakers} for split in ("test", "train", "dev")}
            for kind in ("style", "same")}
    soft = {kind: {split: {s: np.zeros((1, K), np.float32) for s in speakers} for split in ("test", "train", "dev")}
            for kind in ("style", "same")}
    G.eval()
    bar = tqdm(total=6 * len(speakers), desc="sample train/dev/test", disable=not cfg.progress)
    for split in ("train", "dev", "test"):
        data = PatsData(cfg.data_dir, speakers, split, 0, cfg.time, cfg.fps, cfg.vocab_size)
        for kind, shift in (("same", 0), ("style", 1)):
            for si, spk in enumerate(speakers):
                style = (si + shift) % len(speakers)
                _interval_predictions(G, pre, cfg, data, spk, style, out, split, kind, hist, soft, device)
                bar.update(1)
    bar.close()
    file("histogram.json").write_text(json.dumps(hist))
    with open(file("style.pkl"), "wb") as fh:
        pickle.dump(soft, fh)


def _interval_predictions(G, pre, cfg, data, spk, style, out, split, kind, hist, soft, device) -> None:
    """Predict every window of each interval of `spk`, write the interval's keypoints, count cluster labels."""
    import h5py
    lo, hi = data.ranges[spk]
    by_interval: dict[str, list[int]] = {}
    for i in range(lo, hi):
        by_interval.setdefault(data.windows[i].interval_id, []).append(i)
    folder = out / ("keypoints" if kind == "same" else "keypoints_style") / split / spk
    folder.mkdir(parents=True, exist_ok=True)
    for iid, idx in by_interval.items():
        items = [data.item(i) for i in idx]
        batch = pre.make_batch(items, [style] * len(items), device)
        o = G.head(G.trunk(batch), batch["style"])
        probs = o["soft"].transpose(1, 2).reshape(-1, cfg.num_clusters).float().cpu().numpy()
        counts = np.bincount(probs.argmax(-1), minlength=cfg.num_clusters)
        hist[kind][split][spk] = [a + float(b) for a, b in zip(hist[kind][split][spk], counts)]
        if split == "test":
            soft[kind][split][spk] = np.concatenate([soft[kind][split][spk], probs])
        pred = pre.denorm_pose96(o["pose"]).reshape(-1, 2 * len(kept_joints(cfg.mask)))
        gt = np.concatenate([it["pose"] for it in items])
        with h5py.File(folder / f"{iid}.h5", "w") as f:
            f["pose/normalize"] = full_pose(pred, gt, cfg.mask).astype(np.float32)


def full_pose(pred96: np.ndarray, gt104: np.ndarray, mask) -> np.ndarray:
    """(T, 96) kept joints -> (T, 2, 52) with the root at 0 and nose/eyes = predicted parent + GT offset
    (the original's re-insertion of masked joints)."""
    k = kept_joints(mask)
    T = len(pred96)
    out = np.zeros((T, 2, N_JOINTS))
    out[:, 0, k], out[:, 1, k] = pred96[:, : len(k)], pred96[:, len(k):]
    parents = {7: 0, 8: 7, 9: 7}
    for j in sorted(set(mask) - {0}):
        p = parents.get(j, 0)
        for c in (0, 1):
            off = gt104[:, c * N_JOINTS + j] - (gt104[:, c * N_JOINTS + p] if p else 0.0)
            out[:, c, j] = (out[:, c, p] if p else 0.0) + off
    return out
