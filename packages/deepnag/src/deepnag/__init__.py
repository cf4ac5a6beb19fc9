"""DeepNAG (Maghoumi, Taranta & LaViola, IUI 2021): deep non-adversarial gesture generation with soft-DTW,
and DeepGAN, its WGAN-GP baseline. See the package README."""

__version__ = "0.1.0"
