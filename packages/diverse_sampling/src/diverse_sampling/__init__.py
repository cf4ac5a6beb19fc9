"""Diverse Sampling (Dang et al., ACM MM 2022): CVAE (t1) + Gumbel-Softmax diverse sampler (t2)."""

__version__ = "0.1.0"
