"""Inference: search the generator's latent space for 3D poses that reproject onto 2D observations (apo_tf.md §2).

Per sequence (one subject x sequence x camera) the unknowns are, per frame t, a latent code z_t (n_z), a yaw phi_t
and a horizontal translation (x_t, y_t), plus ONE scale s shared by all frames (init: z = 0, phi = x = y = 0,
s = 1.65). The forward model is

    p^ = G(z_t) (converted to the target skeleton by joint gathering)
    p3w = Rz(phi_t) (s p^) + [x_t, y_t, 0];  p3c = R p3w + t;  p2 = f * p3c_xy / p3c_z + c

and the objective is the weighted sum of the terms in :mod:`apo_tf.losses`.

Two solvers; they are local searches of a non-convex problem and in general stop at DIFFERENT optima:

- ``lbfgsb`` (default; the original): scipy L-BFGS-B on all variables of the sequence packed into one vector
  (every frame's z, phi, x, y and the shared s), value and gradient from one compiled TF function, ``tol`` ->
  ftol = gtol, up to ``maxiter`` iterations (15,000, scipy's default as the original used it).
- ``fast`` (a deviation, for speed): the consistency and critic terms are sums of per-frame terms, so for a fixed
  scale the frames are independent problems of n_z + 3 variables. A batched L-BFGS (numpy, one compiled TF call
  per iteration for all frames) solves them together, each frame with its own history and line search, within
  capped iteration budgets (``fast_iters``); the shared scale then takes at most a few safeguarded secant steps
  of +-10 % on dF/ds = sum_t dL_t/ds (envelope theorem). Computed in float64. It is ~8x faster, but the capped
  budgets and the few scale steps mean it does not reach the joint solver's optimum: the scale and the poses
  differ (README, "Solvers"). Smoothness/glide couple the frames, so those configs fall back to ``lbfgsb``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import h5py
import numpy as np
import scipy.optimize
import tensorflow as tf
from tqdm import tqdm

from apo_tf import losses
from apo_tf.config import InferenceConfig
from apo_tf.data import registry
from apo_tf.data.atomic import write_hdf5
from apo_tf.models import Critic, Generator, load_gan
from apo_tf.runs import data_root, find_run, start_run
from motionkit.config import config_to_dict
from motionkit.errors import ConfigError, DataFormatError, NonFiniteLossError
from motionkit.tempfiles import remove_stale_temporaries


class Objective:
    """Compiled value-and-gradient functions of the APO objective for one GAN and one target skeleton."""

    def __init__(self, G: Generator, C: Critic, gan_skeleton: str, target_skeleton: str, cfg: InferenceConfig,
                 dtype: tf.DType = tf.float32):
        self.G, self.C, self.cfg, self.dtype = G, C, cfg, dtype
        self.n_z = G.n_z
        self.gw = [tf.constant(tf.cast(w, dtype)) for w in G.weights]
        self.cw = [tf.constant(tf.cast(w, dtype)) for w in C.weights]
        self.idx = None
        if gan_skeleton != target_skeleton:  # s24 GAN evaluated on s14 data: gather joints
            if (gan_skeleton, target_skeleton) != ("apo_s24", "apo_s14"):
                raise ConfigError(f"no conversion {gan_skeleton} -> {target_skeleton}")
            self.idx = tf.constant(registry.s24_to_s14(np.arange(24)[:, None])[:, 0])
        d = dtype
        cam = [tf.TensorSpec([3, 3], d), tf.TensorSpec([3], d), tf.TensorSpec([2], d), tf.TensorSpec([2], d)]
        self.joint_value_and_grad = tf.function(
            self._joint_value_and_grad,
            input_signature=[tf.TensorSpec([None], tf.float64), tf.TensorSpec([None, None, 2], d), *cam,
                             tf.TensorSpec([], d)])
        # per-frame functions are XLA-compiled (4x less time per call); XLA compiles once per frame count,
        # so the fast solver pads sequences to multiples of PAD_FRAMES with zero-weight frames
        frames_sig = [tf.TensorSpec([None, None], tf.float64), tf.TensorSpec([], tf.float64),
                      tf.TensorSpec([None], d), tf.TensorSpec([None, None, 2], d), *cam]
        self.frames_value_and_grad = tf.function(self._frames_value_and_grad, input_signature=frames_sig,
                                                 jit_compile=True)
        self.scale_grad = tf.function(self._scale_grad, input_signature=frames_sig, jit_compile=True)
        self.forward = tf.function(self._forward, reduce_retracing=True)

    def _forward(self, z, scale, phi, x0, y0, R, t, f, c):
        """(T, n_z), (), (T,) x3, camera -> normalised poses (T, Jg, 3), p3w (T, J, 3), p2 (T, J, 2)."""
        p_hat = self.G(z, self.gw)
        p = p_hat if self.idx is None else tf.gather(p_hat, self.idx, axis=1)
        p = scale * p
        cs, sn = tf.cos(phi)[:, None], tf.sin(phi)[:, None]
        x, y, zz = p[..., 0], p[..., 1], p[..., 2]
        p3w = tf.stack([cs * x - sn * y + x0[:, None], sn * x + cs * y + y0[:, None], zz], axis=-1)
        p3c = tf.einsum("tjk,ik->tji", p3w, R) + t
        p2 = p3c[..., :2] / p3c[..., 2:] * f + c
        return p_hat, p3w, p2

    def _per_frame(self, z, scale, phi, x0, y0, p2_obs, R, t, f, c):
        p_hat, p3w, p2 = self._forward(z, scale, phi, x0, y0, R, t, f, c)
        cfg = self.cfg
        loss_t = cfg.consistency_weight * losses.consistency_per_frame(p2, p2_obs)
        if cfg.critic_weight > 0:
            loss_t += cfg.critic_weight * losses.critic_per_frame(self.C(p_hat, self.cw))
        return loss_t, p3w

    def unpack(self, x, T):
        n = self.n_z
        z = tf.reshape(x[:T * n], [T, n])
        return z, x[T * n], x[T * n + 1:T * n + 1 + T], x[T * n + 1 + T:T * n + 1 + 2 * T], x[T * n + 1 + 2 * T:]

    def _joint_value_and_grad(self, x, p2_obs, R, t, f, c, fps):
        T = tf.shape(p2_obs)[0]
        with tf.GradientTape() as tape:
            xx = tf.cast(x, self.dtype)
            tape.watch(xx)
            z, scale, phi, x0, y0 = self.unpack(xx, T)
            loss_t, p3w = self._per_frame(z, scale, phi, x0, y0, p2_obs, R, t, f, c)
            loss = tf.reduce_sum(loss_t)
            if self.cfg.smoothness_weight > 0:
                loss += self.cfg.smoothness_weight * losses.smoothness_loss(p3w, fps)
            if self.cfg.glide_weight > 0:
                loss += self.cfg.glide_weight * losses.glide_loss(p3w, fps)
        return tf.cast(loss, tf.float64), tf.cast(tape.gradient(loss, xx), tf.float64)

    def _frames_value_and_grad(self, v, scale, weight, p2_obs, R, t, f, c):
        """Per-frame losses (T,) and their gradients wrt v = [z, phi, x, y] (T, n_z + 3) at a fixed scale;
        ``weight`` (T,) is 1 for real frames and 0 for padding."""
        n = self.n_z
        with tf.GradientTape() as tape:
            vv = tf.cast(v, self.dtype)
            tape.watch(vv)
            loss_t, _ = self._per_frame(vv[:, :n], tf.cast(scale, self.dtype), vv[:, n], vv[:, n + 1], vv[:, n + 2],
                                        p2_obs, R, t, f, c)
            loss_t = loss_t * weight
            total = tf.reduce_sum(loss_t)
        gv = tape.gradient(total, vv)
        return tf.cast(loss_t, tf.float64), tf.cast(gv, tf.float64)

    def _scale_grad(self, v, scale, weight, p2_obs, R, t, f, c):
        """dF/ds = sum_t dL_t/ds at fixed v (the envelope gradient at an inner optimum)."""
        n = self.n_z
        vv = tf.cast(v, self.dtype)
        with tf.GradientTape() as tape:
            s = tf.cast(scale, self.dtype)
            tape.watch(s)
            loss_t, _ = self._per_frame(vv[:, :n], s, vv[:, n], vv[:, n + 1], vv[:, n + 2], p2_obs, R, t, f, c)
            total = tf.reduce_sum(loss_t * weight)
        return tf.cast(tape.gradient(total, s), tf.float64)


class BatchedLBFGS:
    """Minimise B independent smooth functions at once with L-BFGS, one history and line search per row.

    ``fg(X)``: (B, n) -> (f (B,), grad (B, n)). A row stops when its relative reduction is below ``tol``
    (scipy's ftol rule), its largest gradient component is below ``tol`` (gtol), or its line search fails.
    The curvature history survives between :meth:`run` calls, so a slightly changed objective (a new shared
    scale) is re-solved from a warm start with a warm inverse-Hessian estimate.
    """

    def __init__(self, B: int, n: int, m: int = 10):
        self.m, self.k = m, 0
        self.S, self.Y = np.zeros((m, B, n)), np.zeros((m, B, n))
        self.rho = np.zeros((m, B))  # 0 marks an empty slot: its terms vanish from the two-loop recursion
        self.gamma = np.full(B, np.nan)  # s'y / y'y of each row's newest pair (initial inverse Hessian)

    def _direction(self, G: np.ndarray) -> np.ndarray:
        S, Y, rho = self.S, self.Y, self.rho
        order = [(self.k - 1 - i) % self.m for i in range(self.m)]  # newest first
        q, alpha = G.copy(), []
        for i in order:
            a = rho[i] * np.einsum("bn,bn->b", S[i], q)
            q -= a[:, None] * Y[i]
            alpha.append(a)
        gamma = np.where(np.isnan(self.gamma), 1.0 / np.maximum(np.abs(G).max(1), 1e-12), self.gamma)
        r = gamma[:, None] * q
        for i, a in zip(reversed(order), reversed(alpha)):
            r += (a - rho[i] * np.einsum("bn,bn->b", Y[i], r))[:, None] * S[i]
        return -r

    def run(self, fg, X: np.ndarray, maxiter: int, tol: float, max_ls: int = 20):
        """Iterate from X until every row has stopped or made ``maxiter`` iterations; returns
        (X, f, grad, most iterations of a row).

        Rows never wait for each other: every batched evaluation is, for each row, either the first trial of a
        new iteration or the next backtracking trial of its current line search (Armijo, safeguarded quadratic
        interpolation), so the number of evaluations is about the iterations of the slowest row, not the sum
        of the longest line search of every iteration.
        """
        B = X.shape[0]
        f, G = fg(X)
        active = np.abs(G).max(1) > tol
        iters, n_ls = np.zeros(B, int), np.zeros(B, int)

        def new_direction(rows):
            d = self._direction(G)
            gd = np.einsum("bn,bn->b", G, d)
            bad = ~(gd < 0)
            d[bad], gd[bad] = -G[bad], -np.einsum("bn,bn->b", G[bad], G[bad])
            st = np.where(bad, np.minimum(1.0, 1.0 / np.maximum(np.abs(G).max(1), 1e-12)), 1.0)
            return np.where(rows[:, None], d, 0.0), np.where(rows, gd, 0.0), np.where(rows, st, 0.0)

        d, gd, step = new_direction(active)
        while active.any():
            Xt = X + np.where(active, step, 0.0)[:, None] * d
            ft, Gt = fg(Xt)
            ok = active & np.isfinite(ft) & (ft <= f + 1e-4 * step * gd)
            fail = active & ~ok
            if ok.any():
                s, y = Xt - X, Gt - G
                sy = np.einsum("bn,bn->b", s, y)
                upd = ok & (sy > 1e-12 * np.sqrt(np.einsum("bn,bn->b", s, s) * np.einsum("bn,bn->b", y, y)))
                if upd.any():  # rows without a new pair keep their older one in this slot
                    p = self.k % self.m
                    self.S[p][upd], self.Y[p][upd] = s[upd], y[upd]
                    self.rho[p][upd] = 1.0 / sy[upd]
                    self.gamma[upd] = sy[upd] / np.einsum("bn,bn->b", y[upd], y[upd])
                    self.k += 1
                conv = (f - ft) <= tol * np.maximum(np.maximum(np.abs(f), np.abs(ft)), 1.0)
                X, f, G = np.where(ok[:, None], Xt, X), np.where(ok, ft, f), np.where(ok[:, None], Gt, G)
                iters += ok
                n_ls[ok] = 0
                active &= ~(ok & (conv | (np.abs(G).max(1) <= tol) | (iters >= maxiter)))
                go = ok & active
                if go.any():
                    d_new, gd_new, st_new = new_direction(go)
                    d = np.where(go[:, None], d_new, d)
                    gd, step = np.where(go, gd_new, gd), np.where(go, st_new, step)
            if fail.any():  # backtrack: safeguarded quadratic interpolation, else halve
                denom = 2.0 * (ft - f - step * gd)
                quad = np.where(np.isfinite(denom) & (denom > 0),
                                -gd * step * step / np.where(denom > 0, denom, 1.0), 0.5 * step)
                step = np.where(fail, np.clip(np.nan_to_num(quad, nan=0.5 * step), 0.1 * step, 0.5 * step), step)
                n_ls += fail
                active &= ~(fail & (n_ls >= max_ls))  # line search failed: the row has converged
        return X, f, G, int(iters.max())


def initial_latents(cfg: InferenceConfig, T: int, n_z: int) -> np.ndarray:
    if cfg.z_init == "zeros":
        return np.zeros((T, n_z))
    if cfg.z_init == "noise":
        return np.random.default_rng(cfg.seed).normal(0.0, 0.01, (T, n_z))
    raise ConfigError(f"unknown z_init {cfg.z_init!r} (zeros | noise)")


def _camera_tensors(seq: registry.Sequence, dtype):
    cam = seq.camera
    return [tf.constant(a, dtype) for a in (cam.R, cam.t, cam.f, cam.c)]


def solve_lbfgsb(obj: Objective, seq: registry.Sequence, on_iteration=None) -> dict:
    """The original solver: scipy L-BFGS-B over the packed vector [z, s, phi, x, y]; ``on_iteration()`` is
    called after each iteration (a progress bar)."""
    cfg, T, n = obj.cfg, len(seq.p2), obj.n_z
    x0 = np.concatenate([initial_latents(cfg, T, n).ravel(), [cfg.scale_init], np.zeros(3 * T)])
    p2 = tf.constant(seq.p2, obj.dtype)
    cam = _camera_tensors(seq, obj.dtype)
    fps = tf.constant(seq.fps, obj.dtype)

    def fun(x):
        v, g = obj.joint_value_and_grad(tf.constant(x), p2, *cam, fps)
        return float(v), g.numpy()

    res = scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", tol=cfg.tol,
                                  options={"maxiter": cfg.maxiter, "maxfun": cfg.maxiter},
                                  callback=(lambda _x: on_iteration()) if on_iteration else None)
    z, s, phi, xx, yy = (np.asarray(a) for a in obj.unpack(res.x, T))
    return {"z": z, "scale": float(s), "phi": phi, "x0": xx, "y0": yy, "loss": float(res.fun),
            "iterations": int(res.nit), "evaluations": int(res.nfev)}


PAD_FRAMES = 32


def solve_fast(obj: Objective, seq: registry.Sequence) -> dict:
    """Per-frame batched L-BFGS for a fixed scale, nested in a few secant steps on the shared scale.

    Budgets (``cfg.fast_iters`` = first solve, secant steps, iterations per secant step, final polish) bound
    the work; every inner solve also stops frame by frame on the ``tol`` rule. The envelope theorem gives
    dF/ds = sum_t dL_t/ds at each inner optimum; each step is warm-started (iterate and curvature history).
    """
    cfg, T, n = obj.cfg, len(seq.p2), obj.n_z
    if cfg.smoothness_weight > 0 or cfg.glide_weight > 0:
        return solve_lbfgsb(obj, seq)
    first, n_secant, per_secant, polish = cfg.fast_iters
    Tp = -(-T // PAD_FRAMES) * PAD_FRAMES
    p2 = tf.constant(np.concatenate([seq.p2, np.repeat(seq.p2[-1:], Tp - T, 0)]), obj.dtype)
    weight = tf.constant(np.arange(Tp) < T, obj.dtype)
    cam = _camera_tensors(seq, obj.dtype)
    V = np.concatenate([initial_latents(cfg, T, n), np.zeros((T, 3))], axis=1)
    V = np.concatenate([V, np.zeros((Tp - T, n + 3))])
    evals, iters = [0], [0]
    solver = BatchedLBFGS(Tp, n + 3)
    # a concrete function skips tf.function's per-call signature matching (~0.2 ms of a ~1 ms call)
    value_and_grad = obj.frames_value_and_grad.get_concrete_function()

    def inner(s, V, budget):
        s_t = tf.constant(s, tf.float64)

        def fg(X):
            evals[0] += 1
            f, g = value_and_grad(tf.constant(X), s_t, weight, p2, *cam)
            return f.numpy(), g.numpy()

        V, f, _, its = solver.run(fg, V, budget, cfg.tol)
        iters[0] += its
        return V, float(f.sum()), float(obj.scale_grad(tf.constant(V), s_t, weight, p2, *cam))

    s = cfg.scale_init
    V, F, g = inner(s, V, first)
    best = (F, s, V, g)
    s_prev = g_prev = None
    for _ in range(n_secant):
        if s_prev is None or g == g_prev:
            ds = -np.sign(g) * 0.02 * s
        else:
            curv = (g - g_prev) / (s - s_prev)
            ds = -g / curv if curv > 0 else -np.sign(g) * 0.05 * s
        ds = float(np.clip(ds, -0.1 * s, 0.1 * s))
        if abs(ds) < 1e-6 * s:
            break
        V_new, F_new, g_new = inner(s + ds, best[2].copy(), per_secant)
        s_prev, g_prev, s, g = s, g, s + ds, g_new
        if F_new < best[0]:
            best = (F_new, s, V_new, g_new)
    F, s, V, _ = best
    V, F, _ = inner(s, V, polish)
    V = V[:T]
    return {"z": V[:, :n], "scale": s, "phi": V[:, n], "x0": V[:, n + 1], "y0": V[:, n + 2], "loss": F,
            "iterations": iters[0], "evaluations": evals[0]}


def joint_solver(cfg: InferenceConfig, solver: str | None = None) -> bool:
    """Whether a sequence is solved by the joint L-BFGS-B: asked for, or smoothness/glide couple the frames."""
    return (solver or cfg.solver) == "lbfgsb" or cfg.smoothness_weight > 0 or cfg.glide_weight > 0


def infer_sequence(obj: Objective, seq: registry.Sequence, solver: str, on_iteration=None) -> dict:
    """Solve one sequence; adds ``p3w`` (T, J, 3), ``seconds``, ``fps`` and the final consistency loss."""
    t0 = time.perf_counter()
    if joint_solver(obj.cfg, solver):
        res = solve_lbfgsb(obj, seq, on_iteration)
    elif solver == "fast":
        res = solve_fast(obj, seq)
    else:
        raise ConfigError(f"unknown solver {solver!r} (fast | lbfgsb)")
    seconds = time.perf_counter() - t0
    d = tf.float64
    _, p3w, p2 = obj.forward(tf.constant(res["z"], obj.dtype), tf.constant(res["scale"], obj.dtype),
                             *(tf.constant(res[k], obj.dtype) for k in ("phi", "x0", "y0")),
                             *_camera_tensors(seq, obj.dtype))
    res["consistency"] = float(tf.reduce_sum(losses.consistency_per_frame(tf.cast(p2, d), tf.constant(seq.p2, d))))
    res.update(p3w=p3w.numpy(), seconds=seconds, fps=len(seq.p2) / seconds)
    if not (np.isfinite(res["p3w"]).all() and np.isfinite(res["scale"]) and np.isfinite(res["loss"])):
        raise NonFiniteLossError(f"{seq.key}: the fit ended in non-finite poses (scale {res['scale']:.4g}, loss "
                                 f"{res['loss']:.4g}); nothing stored for it: check the 2-D input, or a scale_init "
                                 "near the subject's height in m")
    return res


RESULTS = "results.hdf5"  # in the inference run folder; group /<inference_id>, one subgroup per sequence key


def inference_run_name(inference_id: str) -> str:
    """Default run-folder name of an inference: ``infer-<inference_id>``."""
    return f"infer-{inference_id}"


def find_gan_run(cfg: InferenceConfig, root: Path) -> Path:
    """The GAN run this inference searches: ``cfg.gan_run``, else the latest ``gan-<gan_id>`` with a checkpoint."""
    return find_run(Path(root), f"gan-{cfg.gan_id}", cfg.gan_run, need="checkpoint",
                    what=f"trained GAN (run `python -m apo_tf.main train {cfg.gan_id}`)")


def find_inference_run(cfg: InferenceConfig, root: Path, run: str = "") -> Path:
    """The inference run to report on: ``run`` (name or path), else the latest ``infer-<inference_id>``."""
    return find_run(Path(root), inference_run_name(cfg.inference_id), run, need=RESULTS,
                    what=f"inference results (run `python -m apo_tf.main infer {cfg.inference_id}`)")


def build_objective(cfg: InferenceConfig, gan_dir: Path, target_skeleton: str) -> Objective:
    """The compiled objective for the GAN in ``gan_dir`` on data of ``target_skeleton``."""
    gcfg, G, C, _ = load_gan(gan_dir)
    gan_skeleton = registry.parse_id(gcfg.dataset).skeleton
    if gan_skeleton != target_skeleton and (gan_skeleton, target_skeleton) != ("apo_s24", "apo_s14"):
        raise ConfigError(f"{gan_dir}: a GAN of {gan_skeleton} poses (dataset {gcfg.dataset}) cannot fit "
                          f"{target_skeleton} data (only an apo_s24 GAN also fits apo_s14); pick a GAN of the "
                          "same skeleton (--gan_id or --gan_run)")
    dtype = tf.float64 if cfg.dtype == "float64" else tf.float32
    return Objective(G, C, gan_skeleton, target_skeleton, cfg, dtype)


def load_results(path: Path, inference_id: str, need_any: bool = True) -> dict[str, np.ndarray]:
    """Sequence key -> (T, J, 3) world poses (m) of ``/<inference_id>`` in a results file; one line naming the
    file for a missing, unreadable or damaged one (not HDF5, a folder, a group without finite ``p3w``), or, with
    ``need_any``, one without any sequence."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no results file (run `python -m apo_tf.main infer {inference_id}` first)")
    try:
        with h5py.File(path, "r") as f:
            if inference_id not in f:
                raise DataFormatError(f"{path}: no results for {inference_id!r}")
            if not isinstance(f[inference_id], h5py.Group):
                raise DataFormatError(f"{path}: /{inference_id} is not a group of sequences (a damaged results file: "
                                      "delete it, or start a new run)")
            if need_any and not len(f[inference_id]):
                raise DataFormatError(f"{path}: /{inference_id} holds no sequence yet (resume the inference with "
                                      f"`python -m apo_tf.main infer {inference_id} --resume`)")
            return {k: _read_poses(path, f[inference_id], k) for k in f[inference_id]}
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable results file ({_first_clause(e)})") from None


def _read_poses(path: Path, group: h5py.Group, key: str) -> np.ndarray:
    item = group[key]
    if not isinstance(item, h5py.Group) or not isinstance(item.get("p3w"), h5py.Dataset):
        raise DataFormatError(f"{path}: {group.name}/{key} has no p3w data set (a damaged results file: delete it, "
                              "or start a new run)")
    p3w = item["p3w"][()]
    if p3w.ndim != 3 or p3w.shape[-1] != 3 or not np.issubdtype(p3w.dtype, np.floating) or not np.isfinite(p3w).all():
        raise DataFormatError(f"{path}: {group.name}/{key}/p3w is not finite (T, J, 3) poses (a damaged results "
                              "file: delete it, or start a new run)")
    return p3w


def _first_clause(e: Exception) -> str:
    """The reason of an h5py OSError without its long, path-repeating tail."""
    return str(e).split(", file descriptor")[0].split(" (file read failed")[0][:160]


def _existing_keys(path: Path, inference_id: str) -> set[str]:
    """Sequence keys already inferred under ``/<inference_id>`` (empty when the file does not exist); a damaged
    results file is one line, never silently skipped over."""
    if not path.exists():
        return set()
    try:
        with h5py.File(path, "r") as f:
            if inference_id not in f:
                return set()
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable results file ({_first_clause(e)})") from None
    return set(load_results(path, inference_id, need_any=False))


def _store_sequence(path: Path, cfg: InferenceConfig, key: str, res: dict) -> None:
    """Add one sequence's result to ``results.hdf5`` atomically (:mod:`apo_tf.data.atomic`): a run killed or out
    of disk mid-write leaves the previous results intact (and resumable), and no temporary file."""
    write_hdf5(path, lambda f: _write_sequence(f, cfg, key, res), update=True)


def _write_sequence(f: h5py.File, cfg: InferenceConfig, key: str, res: dict) -> None:
    """One sequence's poses and timings into group ``/<inference_id>/<key>`` of an open results file."""
    grp = f.require_group(cfg.inference_id)
    for k, v in config_to_dict(cfg).items():
        grp.attrs[k] = json.dumps(v) if isinstance(v, list) else v
    if key in grp:
        del grp[key]
    g = grp.create_group(key)
    g.create_dataset("p3w", data=res["p3w"].astype(np.float32))
    g.attrs["inference_time"] = res["seconds"]
    g.attrs["inference_fps"] = res["fps"]
    g.attrs["scale"] = res["scale"]
    g.attrs["consistency_loss"] = res["consistency"]
    g.attrs["iterations"] = res["iterations"]


def run_inference(cfg: InferenceConfig, root: Path, run_name: str | None = None, resume: str | None = None,
                  overwrite: bool = False, verbose: bool = True) -> dict:
    """Infer every eval sequence of ``cfg.dataset`` into ``<run>/results.hdf5`` group ``/<inference_id>``.

    A new run folder ``infer-<inference_id>[-N]`` unless ``resume``; a resumed run skips the sequences it holds
    (``overwrite`` redoes them).
    """
    root = Path(root)
    gan_dir = find_gan_run(cfg, root)
    with start_run(cfg, root, run_name or inference_run_name(cfg.inference_id), resume, verbose,
                   mutable=frozenset({"max_sequences", "data_root"})) as run:
        if verbose:
            print(f"GAN: {gan_dir}", flush=True)
        return _infer_all(cfg, gan_dir, data_root(cfg, root), run.path / RESULTS, overwrite, verbose)


def _infer_all(cfg: InferenceConfig, gan_dir: Path, data_dir: str, path: Path, overwrite: bool,
               verbose: bool) -> dict:
    seqs = registry.load(cfg.dataset, "eval", data_dir, cfg.eva_split)
    if cfg.max_sequences:
        seqs = seqs[:cfg.max_sequences]
    obj = build_objective(cfg, gan_dir, seqs[0].skeleton)
    remove_stale_temporaries(path)  # of a write killed half-way
    existing = _existing_keys(path, cfg.inference_id)
    done, frames, seconds = 0, 0, 0.0
    bar = tqdm(total=sum(len(s.p2) for s in seqs), desc=f"infer {cfg.inference_id}", unit="frame",
               disable=not verbose)
    try:  # the bars end their lines before any error line
        for seq in seqs:
            if seq.key not in existing or overwrite:
                with tqdm(total=cfg.maxiter, desc=f"  {seq.subject} {seq.name}", unit="iter", leave=False,
                          disable=not verbose or not joint_solver(cfg), mininterval=1.0) as steps:
                    res = infer_sequence(obj, seq, cfg.solver, lambda bar=steps: bar.update(1))
                _store_sequence(path, cfg, seq.key, res)
                done, frames, seconds = done + 1, frames + len(seq.p2), seconds + res["seconds"]
            bar.update(len(seq.p2))
    finally:
        bar.close()
    summary = {"inference_id": cfg.inference_id, "sequences": done, "skipped": len(seqs) - done,
               "frames": frames, "fps": frames / seconds if seconds else 0.0, "results": str(path)}
    if verbose:
        print(json.dumps(summary), flush=True)
    return summary
