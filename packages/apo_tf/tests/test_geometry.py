"""Pinhole projection against hand-computed cases, rotations, camera fitting."""

import numpy as np
import tensorflow as tf

from apo_tf.config import InferenceConfig
from apo_tf.data.cameras import Camera, fit_extrinsics, fit_intrinsics, look_at, rotate_about_z
from apo_tf.infer import Objective
from apo_tf.models import Critic, Generator


def test_pinhole_hand_computed():
    # identity extrinsics: a point 2 m in front, 0.5 m right, 0.25 m down -> f * (0.25, 0.125) + c
    cam = Camera(np.eye(3), np.zeros(3), np.array([1.0, 2.0]), np.array([0.5, 0.4]))
    np.testing.assert_allclose(cam.project(np.array([0.5, 0.25, 2.0])), [1.0 * 0.25 + 0.5, 2.0 * 0.125 + 0.4])
    # translation only: p_c = p_w + (0, 0, 4) -> (1, 1, 4): f * (0.25, 0.25) + c
    cam = Camera(np.eye(3), np.array([0.0, 0.0, 4.0]), np.array([1.15, 1.15]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(cam.project(np.array([1.0, 1.0, 0.0])), [0.7875, 0.7875])
    # a camera 5 m along -y looking at the origin (z-up world): the origin lands on the principal point,
    # a point 1 m to the camera's right (+x) lands f/5 right of it, 1 m up lands f/5 above (image y down)
    R, t = look_at(np.array([0.0, -5.0, 0.0]), np.zeros(3))
    cam = Camera(R, t, np.array([1.0, 1.0]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(cam.project(np.zeros(3)), [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(cam.project(np.array([1.0, 0.0, 0.0])), [0.7, 0.5], atol=1e-12)
    np.testing.assert_allclose(cam.project(np.array([0.0, 0.0, 1.0])), [0.5, 0.3], atol=1e-12)


def test_rotate_about_z():
    p = np.array([[[1.0, 0.0, 0.3]]])
    np.testing.assert_allclose(rotate_about_z(p, np.array([np.pi / 2])), [[[0.0, 1.0, 0.3]]], atol=1e-12)


def test_camera_fit_recovers_parameters():
    rng = np.random.default_rng(0)
    R, t = look_at(np.array([3.0, -4.0, 1.5]), np.array([0.0, 0.0, 0.9]))
    cam = Camera(R, t * 1000, np.array([1149.7, 1147.6]), np.array([508.8, 508.1]))
    p3w = rng.normal(0, 500, (200, 3)) + [0, 0, 900]
    p3c = cam.world_to_camera(p3w)
    f, c = fit_intrinsics(p3c, cam.project(p3w))
    R2, t2 = fit_extrinsics(p3w, p3c)
    np.testing.assert_allclose(f, cam.f, rtol=1e-9)
    np.testing.assert_allclose(c, cam.c, rtol=1e-9)
    np.testing.assert_allclose(R2, R, atol=1e-9)
    np.testing.assert_allclose(t2, cam.t, atol=1e-6)


def test_tf_forward_model_matches_numpy():
    G, C = Generator(4, [8], 14), Critic([8], 14)
    obj = Objective(G, C, "apo_s14", "apo_s14", InferenceConfig(), tf.float64)
    R, t = look_at(np.array([4.0, -3.0, 1.6]), np.array([0.0, 0.0, 0.9]))
    cam = Camera(R, t, np.array([1.15, 1.14]), np.array([0.51, 0.5]))
    z = np.random.default_rng(1).normal(size=(3, 4))
    s, phi, x0, y0 = 1.7, np.array([0.1, -2.0, 3.0]), np.array([0.2, 0.0, -1.0]), np.array([0.0, 0.5, 0.3])
    p_hat, p3w, p2 = obj.forward(*(tf.constant(a, tf.float64) for a in (z, s, phi, x0, y0, R, t, cam.f, cam.c)))
    ref = rotate_about_z(s * p_hat.numpy(), phi) + np.stack([x0, y0, np.zeros(3)], -1)[:, None]
    np.testing.assert_allclose(p3w.numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(p2.numpy(), cam.project(ref), atol=1e-12)
