"""Architectures: DCT codec, GCN blocks, CVAE (t1), DiverseSampling sampler (t2), GRU action classifier."""

from diverse_sampling.models.classifier import ActionClassifier
from diverse_sampling.models.cvae import CVAE
from diverse_sampling.models.dct import DCTCodec, dct_matrix
from diverse_sampling.models.sampler import DiverseSampler

__all__ = ["ActionClassifier", "CVAE", "DCTCodec", "DiverseSampler", "dct_matrix"]
