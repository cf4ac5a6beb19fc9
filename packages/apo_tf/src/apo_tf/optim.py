"""Optimisers written out, so that their update is exactly the original's (apo_tf.md §1.2, §7.1).

``RMSProp(flavour="tf1")`` is TF1 ``tf.train.RMSPropOptimizer`` with momentum 0::

    ms <- ms + (1 - decay) (g^2 - ms)        ms starts at ONE
    theta <- theta - lr g / sqrt(ms + eps)   eps = 1e-10 inside the sqrt

``flavour="keras"`` starts ms at zero and puts eps = 1e-7 outside the sqrt, as ``keras.optimizers.RMSprop``
(offered only to show the difference; its first steps are ~3x larger). ``Adam`` is the WGAN-GP optimiser.
"""

from __future__ import annotations

import tensorflow as tf

from motionkit.errors import ConfigError


class RMSProp(tf.Module):
    def __init__(self, variables: list[tf.Variable], lr: float = 1e-4, decay: float = 0.9, eps: float = 1e-10,
                 flavour: str = "tf1", name: str = "rmsprop"):
        super().__init__(name=name)
        if flavour not in ("tf1", "keras"):
            raise ConfigError(f"unknown RMSProp flavour {flavour!r} (tf1 | keras)")
        self.lr, self.decay, self.flavour = lr, decay, flavour
        self.eps = eps if flavour == "tf1" else 1e-7
        init = tf.ones_like if flavour == "tf1" else tf.zeros_like
        with self.name_scope:
            self.ms = [tf.Variable(init(v), trainable=False, name="ms") for v in variables]

    def apply(self, grads: list[tf.Tensor], variables: list[tf.Variable]) -> None:
        for g, v, ms in zip(grads, variables, self.ms):
            m = ms.assign_add((1.0 - self.decay) * (tf.square(g) - ms))
            if self.flavour == "tf1":
                v.assign_sub(self.lr * g * tf.math.rsqrt(m + self.eps))
            else:
                v.assign_sub(self.lr * g / (tf.sqrt(m) + self.eps))


class Adam(tf.Module):
    """Adam (Kingma & Ba) with TF1 bias correction folded into the step size; eps 1e-8 outside the sqrt."""

    def __init__(self, variables: list[tf.Variable], lr: float = 1e-4, beta1: float = 0.0, beta2: float = 0.9,
                 eps: float = 1e-8, name: str = "adam"):
        super().__init__(name=name)
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        with self.name_scope:
            self.t = tf.Variable(0.0, trainable=False, name="t")
            self.m = [tf.Variable(tf.zeros_like(v), trainable=False, name="m") for v in variables]
            self.v = [tf.Variable(tf.zeros_like(v), trainable=False, name="v") for v in variables]

    def apply(self, grads: list[tf.Tensor], variables: list[tf.Variable]) -> None:
        t = self.t.assign_add(1.0)
        step = self.lr * tf.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        for g, var, m, v in zip(grads, variables, self.m, self.v):
            m.assign(self.beta1 * m + (1.0 - self.beta1) * g)
            v.assign(self.beta2 * v + (1.0 - self.beta2) * tf.square(g))
            var.assign_sub(step * m / (tf.sqrt(v) + self.eps))
