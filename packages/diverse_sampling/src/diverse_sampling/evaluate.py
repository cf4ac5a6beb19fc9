"""Evaluation: APD, ADE, FDE, MMADE, MMFDE (DLow definitions, notes section 4), FID / ACC, renders.

Everything is vectorised over windows and samples: the K x K pairs of APD come from one distance matrix per
window chunk, the best-of-K errors against the whole multimodal group from one (c, G, K, T) tensor per chunk.
Metrics are computed in float64 on root-relative node positions in metres, pose vectors of D = 3n values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from diverse_sampling.config import Config
from diverse_sampling.data.dataset import EvalWindows, build_test_set
from diverse_sampling.data.layout import get_layout
from diverse_sampling.models import CVAE, ActionClassifier
from motionkit.training import load_checkpoint

METRICS = ("APD", "ADE", "FDE", "MMADE", "MMFDE")


# ------------------------------------------------------------------------------------------------- metrics ----
def apd_batch(pred: torch.Tensor) -> torch.Tensor:
    """APD per window: pred (c, K, T, D) -> (c,) = mean over the K(K-1) ordered pairs i != j of ||Y_i - Y_j||_2
    with every future flattened to one vector (DLow). 0 for identical samples."""
    x = pred.flatten(2).double()
    K = x.shape[1]
    if K < 2:
        return x.new_zeros(x.shape[0])
    return torch.cdist(x, x).sum((1, 2)) / (K * (K - 1))


def frame_errors(pred: torch.Tensor, gts: torch.Tensor) -> torch.Tensor:
    """||pred_k[t] - gt_g[t]||_2 over the whole pose vector: pred (c, K, T, D), gts (c, G, T, D) -> (c, G, K, T)."""
    p, g = pred.double(), gts.double()
    sq = (p * p).sum(-1)[:, None] + (g * g).sum(-1)[:, :, None] - 2 * torch.einsum("cktd,cgtd->cgkt", p, g)
    return sq.clamp_min(0).sqrt()


def ade_fde_batch(pred: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ADE = min_k mean_t ||.||, FDE = min_k ||.|| at the last frame. pred (c, K, T, D), gt (c, T, D) -> (c,), (c,)."""
    err = (pred.double() - gt.double()[:, None]).norm(dim=-1)  # (c, K, T)
    return err.mean(-1).min(-1).values, err[..., -1].min(-1).values


def mm_batch(pred: torch.Tensor, gts: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """MMADE / MMFDE per window: mean over the group's GT futures of the best-of-K ADE / FDE.

    pred (c, K, T, D), gts (c, G, T, D) padded, mask (c, G) True for real group members -> (c,), (c,).
    """
    err = frame_errors(pred, gts)  # (c, G, K, T)
    ade = err.mean(-1).min(-1).values  # (c, G)
    fde = err[..., -1].min(-1).values
    m = mask.double()
    return (ade * m).sum(1) / m.sum(1), (fde * m).sum(1) / m.sum(1)


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """FID between Gaussians fitted to features f1 (N1, F) and f2 (N2, F):
    ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)); a small diagonal offset is added if sqrtm is singular."""
    from scipy import linalg

    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        off = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + off).dot(s2 + off))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# --------------------------------------------------------------------------------------------- prediction ----
def make_predictor(cfg: Config, cvae: CVAE, sampler: torch.nn.Module | None):
    """history (B, t_his, D) -> K futures (B, K, t_pred, D): t1 with z ~ N(0, I), t2 through the sampler."""
    from diverse_sampling.train import t2_predict

    def predict(his: torch.Tensor) -> torch.Tensor:
        if sampler is None:
            full = cvae.sample(his, cfg.nk)
        else:
            full, _, _ = t2_predict(cvae, sampler, his, cfg.nk, cfg.share_eps_eval)
        return full[:, :, cfg.t_his :]

    return predict


@torch.no_grad()
def evaluate_model(cfg: Config, cvae: CVAE, sampler, test: EvalWindows, device, classifier=None,
                   chunk: int = 32, return_first: bool = False, details: dict | None = None):
    """All metrics over the test set. Sampling uses a forked RNG seeded by ``cfg.seed`` (comparable runs).

    Windows without multimodal neighbours: counted normally (fixed default) or, with
    ``legacy_skip_lonely_windows`` (quirk 5), contribute 0 to every metric but still count in the denominator.
    ``details``, if given, receives the per-window values (N,) of the five metrics and the ``kept`` mask.
    """
    was_training = [m.training for m in (cvae, sampler) if m is not None]
    cvae.eval()
    if sampler is not None:
        sampler.eval()
    predict = make_predictor(cfg, cvae, sampler)
    N, h = len(test), cfg.t_his
    sums = dict.fromkeys(METRICS, 0.0)
    feats_pred, feats_gt, correct = [], [], 0.0
    first = None
    with torch.random.fork_rng(devices=[device] if torch.device(device).type == "cuda" else []):
        torch.manual_seed(cfg.seed)
        for s in range(0, N, chunk):
            idx = np.arange(s, min(s + chunk, N))
            win = torch.from_numpy(test.windows[idx]).to(device)
            pred = predict(win[:, :h]).float()  # (c, K, t_pred, D)
            if first is None:
                first = pred[0].cpu().numpy()
            gt = win[:, h:]
            groups = [test.group_futures(i, h, cfg.mm_retarget) for i in idx]
            G = max(len(g) for g in groups)
            gts = torch.zeros(len(idx), G, *gt.shape[1:], device=device)
            mask = torch.zeros(len(idx), G, dtype=torch.bool, device=device)
            for r, g in enumerate(groups):
                gts[r, : len(g)] = torch.from_numpy(g).to(device)
                mask[r, : len(g)] = True
            keep = torch.ones(len(idx), dtype=torch.bool, device=device)
            if cfg.legacy_skip_lonely_windows:
                keep = torch.tensor([len(g) > 1 for g in groups], device=device)
            values = {"APD": apd_batch(pred)}
            values["ADE"], values["FDE"] = ade_fde_batch(pred, gt)
            mmade, mmfde = zip(*[mm_batch(pred[r : r + 8], gts[r : r + 8], mask[r : r + 8])
                                 for r in range(0, len(idx), 8)])
            values["MMADE"], values["MMFDE"] = torch.cat(mmade), torch.cat(mmfde)
            for k, v in values.items():
                sums[k] += float(v[keep].sum())
                if details is not None:
                    details.setdefault(k, []).append(v.cpu().numpy())
            if details is not None:
                details.setdefault("kept", []).append(keep.cpu().numpy())
            if classifier is not None:
                c, K, T, D = pred.shape
                fp = classifier.features(pred.reshape(c * K, T, D))
                logits = classifier.cls(fp).reshape(c, K, -1)
                labels = torch.from_numpy(test.labels[idx]).to(device)
                hit = (logits.argmax(-1) == labels[:, None]).double().mean(1)
                correct += float(hit[keep].sum())
                feats_pred.append(fp.reshape(c, K, -1)[keep].reshape(-1, fp.shape[-1]).cpu().numpy())
                feats_gt.append(classifier.features(gt)[keep].cpu().numpy())
    out = {k: v / N for k, v in sums.items()}
    if details is not None:
        for k in list(details):
            details[k] = np.concatenate(details[k])
    if classifier is not None:
        out["FID"] = frechet_distance(np.concatenate(feats_gt).astype(np.float64),
                                      np.concatenate(feats_pred).astype(np.float64))
        out["ACC"] = correct / N
    for m, t in zip([m for m in (cvae, sampler) if m is not None], was_training):
        m.train(t)
    if return_first:
        return out, first
    return out


# ------------------------------------------------------------------------------------------------ renders ----
def _with_root(future: np.ndarray) -> np.ndarray:
    """(..., T, D) node vectors -> (..., T, n+1, 3) with the root at the origin (for drawing)."""
    pos = future.reshape(*future.shape[:-1], -1, 3)
    return np.concatenate([np.zeros_like(pos[..., :1, :]), pos], axis=-2)


def render(cfg: Config, test: EvalWindows, futures: np.ndarray, out_dir: Path) -> list[Path]:
    """Overlay plot of the K futures of test window 0 (GT in black) and a GIF of GT beside a few samples."""
    from motionkit.skeletons import get_skeleton
    from motionkit.viz import save_overlay_plot, save_skeleton_gif

    skel = get_skeleton("h36m_17" if cfg.dataset == "h36m" else "humaneva_15")
    k = min(cfg.render_samples, len(futures))
    gt = _with_root(test.windows[0, cfg.t_his :])
    samples = [_with_root(f) for f in futures[:k]]
    paths = [save_overlay_plot(out_dir / "futures_overlay.png", samples, skel, reference=gt,
                               title=f"{cfg.exp_name}: {k} of {len(futures)} futures, test window 0")]
    step = max(1, cfg.t_pred // 25)
    seqs = [gt[::step]] + [s[::step] for s in samples[:5]]
    paths.append(save_skeleton_gif(out_dir / "futures.gif", seqs, skel,
                                   titles=["GT"] + [f"sample {i}" for i in range(len(seqs) - 1)], fps=10))
    return paths


def load_classifier(cfg: Config, device, log=print) -> ActionClassifier | None:
    path = cfg.resolved_classifier_checkpoint()
    if not path.is_file():
        log(f"FID/ACC skipped: no classifier at {path} (train one with --train-classifier)")
        return None
    layout = get_layout(cfg.dataset)
    state = load_checkpoint(path, map_location="cpu")
    extra = state.get("extra", {})
    clf = ActionClassifier(layout.n_nodes * 3, len(layout.labels), extra.get("cls_hidden", cfg.cls_hidden),
                           extra.get("cls_layers", cfg.cls_layers), extra.get("cls_feat", cfg.cls_feat),
                           cfg.classifier_random_h0)
    clf.load_state_dict(state["modules"]["classifier"])
    return clf.to(device).eval()


def format_table(metrics: dict[str, float]) -> str:
    keys = [k for k in (*METRICS, "FID", "ACC") if k in metrics]
    head = " | ".join(f"{k:>8}" for k in keys)
    row = " | ".join(f"{metrics[k]:8.4f}" for k in keys)
    return f"{head}\n{row}"


def run_evaluation(cfg: Config, model_path: str | Path, device, render_outputs: bool = True) -> dict:
    """``--is_load=1``: load a t1 or t2 checkpoint, evaluate on the whole test set, print and save the table."""
    from diverse_sampling.train import build_cvae, build_sampler, load_frozen_cvae

    path = Path(model_path)
    state = load_checkpoint(path, map_location="cpu")
    modules = state.get("modules", {})
    if "sampler" in modules:
        cvae = load_frozen_cvae(cfg, device)
        sampler = build_sampler(cfg)
        sampler.load_state_dict(modules["sampler"])
        sampler.to(device)
    else:
        cvae = build_cvae(cfg)
        from motionkit.training import restore_modules

        restore_modules(state, {"cvae": cvae}, path)
        cvae.to(device)
        sampler = None
    test = build_test_set(cfg)
    clf = load_classifier(cfg, device)
    metrics, first = evaluate_model(cfg, cvae, sampler, test, device, classifier=clf, return_first=True)
    out_dir = path.parent / f"eval_{path.stem}"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(f"{cfg.exp_name} on {len(test)} test windows, K={cfg.nk} ({path}):")
    print(format_table(metrics))
    if render_outputs:
        for p in render(cfg, test, first, out_dir):
            print(f"wrote {p}")
    return metrics
