"""Side by side: human_pose_util's camera fit and the original inference forward model, against apo_tf's.

    python packages/apo_tf/bench/compare_original_geometry.py --original /path/to/human_pose_util-checkout

On the tiny synthetic set (S9, camera 55011271, s24 joints, mm and pixels) it compares:

1. the camera fitted from the data: the original's ``calculate_intrinsics`` / ``calculate_extrinsics`` (float32
   f and c, as it returns them) against ``apo_tf.data.cameras.fit_intrinsics`` / ``fit_extrinsics``;
2. the "consistent" 2-D poses: the original's ``project(transform_frame(p3w, r, t), f, c)`` with r the
   sxyz Euler angles of R (``euler_from_matrix_nh``), as its ``consistent`` data sets compute them;
3. the inference forward model with the same generator output: the original graph's
   ``rotate_about(G(z) * s, phi, dim=2) + (x0, y0, 0)``, ``transform_frame``, ``project`` (its numpy twins, same
   formulas) against ``apo_tf.infer.Objective.forward``, in the scaled units (m, kilo-pixels), and the
   consistency loss ``tf.nn.l2_loss(p2i - p2)``.

Prints the largest absolute difference of each. The original is imported from the checkout, not copied.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from apo_tf.config import GanConfig, InferenceConfig
from apo_tf.data import registry, synthetic
from apo_tf.data.cameras import fit_extrinsics, fit_intrinsics, project_camera_points
from apo_tf.infer import Objective
from apo_tf.models import build_critic, build_generator


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--original", required=True, help="a checkout of github jackd/human_pose_util")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.original)))
    from human_pose_util.transforms import camera_params
    from human_pose_util.transforms.np_impl import (
        euler_from_matrix_nh,
        euler_matrix_nh,
        project,
        rotate_about,
        transform_frame,
    )

    raw = next(r for r in synthetic.generate("synth_tiny") if r.subject == "S9")
    view = raw.views["55011271"]
    p3w, p3c, p2 = (registry.raw_to_skeleton(a, "apo_s24") for a in (raw.p3, view.p3, view.p2))
    f0, c0 = camera_params.calculate_intrinsics(p3c.reshape(-1, 3), p2.reshape(-1, 2))
    R0, t0, k0 = camera_params.calculate_extrinsics(p3w.reshape(-1, 3), p3c.reshape(-1, 3))
    f1, c1 = fit_intrinsics(p3c, p2)
    R1, t1 = fit_extrinsics(p3w, p3c)
    print(f"1. camera fit: |f| {np.abs(f0 - f1).max():.3g} px (original returns float32), |c| "
          f"{np.abs(c0 - c1).max():.3g} px, |R| {np.abs(R0 - R1).max():.3g}, |t| {np.abs(t0 - t1).max():.3g} mm, "
          f"original scale k - 1 = {k0 - 1:.2g}")
    r0 = np.array(euler_from_matrix_nh(R0))
    q0 = project(transform_frame(p3w, r0, t0), f0, c0)
    q1 = project_camera_points(p3w @ R1.T + t1, f1, c1)
    print(f"2. consistent 2-D poses: max |difference| {np.abs(q0 - q1).max():.3g} px over {q0.size // 2} points")

    cfg = GanConfig(dataset="synth_tiny_consistent_scaled_c1", n_z=8, n_g=[32], n_c=[32])
    G, C = build_generator(cfg), build_critic(cfg)
    obj = Objective(G, C, "apo_s24", "apo_s24", InferenceConfig(dataset="synth_tiny_consistent_scaled_c1_10fps"),
                    tf.float64)
    rng = np.random.default_rng(0)
    T = len(p3w)
    z, s = rng.normal(size=(T, cfg.n_z)), 1.7
    phi, x0, y0 = rng.uniform(-np.pi, np.pi, T), rng.normal(0, 0.5, T), rng.normal(0, 0.5, T)
    R, t, f, c = np.array(euler_matrix_nh(*r0)), t0 / 1000.0, f0.astype(np.float64) / 1000.0, c0 / 1000.0
    p_hat, ours_p3w, ours_p2 = (a.numpy() for a in obj.forward(
        *(tf.constant(a, tf.float64) for a in (z, s, phi, x0, y0, R, t, f, c))))
    orig_p3w = rotate_about(p_hat * s, phi[:, None], dim=2) + np.stack([x0, y0, 0 * x0], -1)[:, None]
    orig_p2 = project(transform_frame(orig_p3w, r0, t), f, c)
    obs = p2 / 1000.0
    l_orig = 0.5 * np.sum((orig_p2 - obs) ** 2)
    l_ours = float(tf.reduce_sum(0.5 * tf.reduce_sum((ours_p2 - obs) ** 2, axis=[-2, -1])))
    print(f"3. forward model (float64): max |p3w| difference {np.abs(orig_p3w - ours_p3w).max():.3g} m, max |p2| "
          f"difference {np.abs(orig_p2 - ours_p2).max():.3g} kilo-px; consistency loss {l_orig:.12g} vs "
          f"{l_ours:.12g} (relative {abs(l_orig - l_ours) / l_orig:.2g})")


if __name__ == "__main__":
    main()
