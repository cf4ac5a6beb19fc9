"""apo_tf: Adversarially Parameterized Optimization for 3D human pose estimation (Jack et al., 3DV 2017), TF2."""

__version__ = "0.1.0"
