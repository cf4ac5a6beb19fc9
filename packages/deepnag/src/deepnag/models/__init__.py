"""DeepNAG / DeepGAN networks."""

from deepnag.models.critic import DeepGANCritic
from deepnag.models.generator import DeepNAGNet
from deepnag.models.gru import DoubleBackwardGRU

__all__ = ["DeepGANCritic", "DeepNAGNet", "DoubleBackwardGRU"]
