"""Generator G: z (B, n_z) -> pose (B, J, 3) in canonical normalised units (apo_tf.md §1.1)."""

from __future__ import annotations

import tensorflow as tf

from apo_tf.models.mlp import MLP


class Generator(tf.Module):
    """Dense ``n_g`` (activation) then a linear Dense with 3J units, reshaped to (J, 3)."""

    def __init__(self, n_z: int, n_g: list[int], n_joints: int, activation: str = "relu", seed: int = 0):
        super().__init__(name="generator")
        self.n_z, self.n_joints = n_z, n_joints
        self.mlp = MLP([n_z, *n_g, 3 * n_joints], activation, seed=seed, name="mlp")

    @property
    def weights(self) -> list[tf.Variable]:
        return self.mlp.weights

    def __call__(self, z: tf.Tensor, weights: list[tf.Tensor] | None = None) -> tf.Tensor:
        """(B, n_z) -> (B, J, 3)."""
        return tf.reshape(self.mlp.forward(z, weights), [-1, self.n_joints, 3])
