"""The two networks of the pose-prior GAN: a generator and a critic, both plain MLPs (apo_tf.md §1.1)."""

from apo_tf.models.critic import Critic
from apo_tf.models.generator import Generator
from apo_tf.models.mlp import MLP

__all__ = ["MLP", "Generator", "Critic"]
