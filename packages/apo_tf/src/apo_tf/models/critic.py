"""Critic C: pose (B, J, 3) -> unbounded score (B,) (apo_tf.md §1.1; no sigmoid, no normalisation layers)."""

from __future__ import annotations

import tensorflow as tf

from apo_tf.models.mlp import MLP


class Critic(tf.Module):
    """Flatten to 3J, Dense ``n_c`` (activation), then a linear Dense with 1 unit, squeezed."""

    def __init__(self, n_c: list[int], n_joints: int, activation: str = "relu", seed: int = 1):
        super().__init__(name="critic")
        self.n_joints = n_joints
        self.mlp = MLP([3 * n_joints, *n_c, 1], activation, seed=seed, name="mlp")

    @property
    def weights(self) -> list[tf.Variable]:
        return self.mlp.weights

    def __call__(self, pose: tf.Tensor, weights: list[tf.Tensor] | None = None) -> tf.Tensor:
        """(B, J, 3) -> (B,)."""
        return tf.squeeze(self.mlp.forward(tf.reshape(pose, [-1, 3 * self.n_joints]), weights), -1)
