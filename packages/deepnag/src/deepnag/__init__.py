"""DeepNAG (Maghoumi, Taranta & LaViola, IUI 2021): deep non-adversarial gesture generation with soft-DTW,
and DeepGAN, its WGAN-GP baseline. See the package README."""

import motionkit  # noqa: F401  (first: sets GOMP_SPINCOUNT before torch loads, see motionkit/__init__.py)

__version__ = "0.1.0"


def __getattr__(name: str):
    """`from deepnag import load_generator` (imported on first use, so `import deepnag` stays light)."""
    if name == "load_generator":
        from deepnag.models import load_generator

        return load_generator
    raise AttributeError(f"module 'deepnag' has no attribute {name!r}")
