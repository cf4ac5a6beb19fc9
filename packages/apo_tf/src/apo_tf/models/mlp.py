"""A plain multilayer perceptron on raw ``tf.Variable`` s (checkpointable as a ``tf.Module``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from motionkit.errors import ConfigError

_ACTIVATIONS = {"relu": tf.nn.relu, "elu": tf.nn.elu, "tanh": tf.nn.tanh, "leaky_relu": tf.nn.leaky_relu}


def glorot_normal(shape: tuple[int, int], seed: tuple[int, int]) -> tf.Tensor:
    """TF1 ``xavier_initializer(uniform=False)`` = Keras ``GlorotNormal``: truncated normal with
    std = sqrt(2 / (fan_in + fan_out)) / 0.87962566 (the std of a unit normal truncated at 2 sigma)."""
    std = np.sqrt(2.0 / (shape[0] + shape[1])) / 0.87962566103423978
    return tf.random.stateless_truncated_normal(shape, seed=seed, stddev=std)


class MLP(tf.Module):
    """Dense layers ``sizes`` with ``activation`` between them and a linear last layer.

    Kernels are Glorot-normal, biases zero. ``__call__``: (B, sizes[0]) -> (B, sizes[-1]).
    """

    def __init__(self, sizes: list[int], activation: str = "relu", seed: int = 0, name: str | None = None):
        super().__init__(name=name)
        if activation not in _ACTIVATIONS:
            raise ConfigError(f"unknown activation {activation!r}; known: {sorted(_ACTIVATIONS)}")
        self.activation_name = activation
        self.activation = _ACTIVATIONS[activation]
        self.kernels, self.biases = [], []
        with self.name_scope:
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                self.kernels.append(tf.Variable(glorot_normal((a, b), (seed, i)), name=f"kernel_{i}"))
                self.biases.append(tf.Variable(tf.zeros([b]), name=f"bias_{i}"))

    @property
    def weights(self) -> list[tf.Variable]:
        """Kernels and biases, layer by layer: [W0, b0, W1, b1, ...]."""
        return [v for pair in zip(self.kernels, self.biases) for v in pair]

    def forward(self, x: tf.Tensor, weights: list[tf.Tensor] | None = None) -> tf.Tensor:
        """Forward pass, optionally with substitute weights (e.g. float64 copies for inference)."""
        w = self.weights if weights is None else weights
        n = len(w) // 2
        for i in range(n):
            x = tf.matmul(x, w[2 * i]) + w[2 * i + 1]
            if i < n - 1:
                x = self.activation(x)
        return x

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return self.forward(x)
