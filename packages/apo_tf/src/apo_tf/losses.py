"""Every loss term of APO, with its equation and weight (apo_tf.md §1.2, §2.3).

GAN (weight-clipped WGAN, Arjovsky et al. 2017):

- critic loss  L_C = mean_z C(G(z)) - mean_x C(x)                          (weight 1)
- generator loss  L_G = -mean_z C(G(z))                                    (weight 1)
- gradient penalty (``wgan_type: gradient_penalized`` only)
  L_GP = lambda * reduce_i (||grad_x C(x_i^)||_2 - 1)^2, x^ = e x + (1-e) G(z), e ~ U(0, 1), lambda = 10;
  ``reduce`` = mean (WGAN-GP paper, default) or sum (the original code; 128x stronger at batch 128).

Inference objective L = w_cons L_cons + w_critic L_critic + w_smooth L_smooth + w_glide L_glide,
shipped weights (1, 0, 0, 0); per-frame forms (T,) are summed for the sequence loss:

- consistency  L_cons = 1/2 sum_{t,j,xy} (p2_pred - p2_obs)^2   (TF l2_loss: a sum, in kilo-pixels)
- critic ("feasibility")  L_critic = -sum_t C(G(z_t))            (on the normalised generator output)
- smoothness  L_smooth = 1/2 sum_t ||(p3w[t+1] - p3w[t]) / dt||^2
- glide  L_glide = sum_t min_j ||(p3w[t+1, j] - p3w[t, j]) / dt||^2   ("some joint is planted")
"""

from __future__ import annotations

import tensorflow as tf


def critic_loss(c_real: tf.Tensor, c_fake: tf.Tensor) -> tf.Tensor:
    """L_C = mean C(fake) - mean C(real); inputs (B,)."""
    return tf.reduce_mean(c_fake) - tf.reduce_mean(c_real)


def generator_loss(c_fake: tf.Tensor) -> tf.Tensor:
    """L_G = -mean C(fake); input (B,)."""
    return -tf.reduce_mean(c_fake)


def gradient_penalty(critic, real: tf.Tensor, fake: tf.Tensor, eps: tf.Tensor, lam: float = 10.0,
                     reduce: str = "mean") -> tf.Tensor:
    """L_GP on interpolates x^ = eps real + (1 - eps) fake; real, fake (B, J, 3), eps (B, 1, 1)."""
    x = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(x)
        c = critic(x)
    g = tape.gradient(c, x)
    pen = tf.square(tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2]) + 1e-12) - 1.0)
    return lam * (tf.reduce_sum(pen) if reduce == "sum" else tf.reduce_mean(pen))


def consistency_per_frame(p2_pred: tf.Tensor, p2_obs: tf.Tensor) -> tf.Tensor:
    """1/2 sum_{j,xy} (p2_pred - p2_obs)^2 per frame: (T, J, 2) -> (T,)."""
    return 0.5 * tf.reduce_sum(tf.square(p2_pred - p2_obs), axis=[-2, -1])


def critic_per_frame(scores: tf.Tensor) -> tf.Tensor:
    """-C(G(z_t)) per frame: (T,) -> (T,)."""
    return -scores


def smoothness_loss(p3w: tf.Tensor, fps: float) -> tf.Tensor:
    """1/2 sum_t ||(p3w[t+1] - p3w[t]) fps||^2: (T, J, 3) -> ()."""
    v = (p3w[1:] - p3w[:-1]) * fps
    return 0.5 * tf.reduce_sum(tf.square(v))


def glide_loss(p3w: tf.Tensor, fps: float) -> tf.Tensor:
    """sum_t min_j ||(p3w[t+1, j] - p3w[t, j]) fps||^2: (T, J, 3) -> ()."""
    v = (p3w[1:] - p3w[:-1]) * fps
    return tf.reduce_sum(tf.reduce_min(tf.reduce_sum(tf.square(v), axis=-1), axis=-1))
