"""Data: raw-file readers, node-layout windows, multimodal ground truth, derived caches, synthetic stand-in.

Importing it registers the package's data sets (``h36m-videopose3d``, ``humaneva-videopose3d``) with their readers
in motionkit's registry (``registry.py``).
"""

from diverse_sampling.data import registry as _registry  # noqa: F401  (registers the data sets)
