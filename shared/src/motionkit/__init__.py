"""motionkit: what the motionzoo packages truly share.

``import motionkit`` needs numpy only. Submodules that need torch (``motionkit.softdtw``,
``motionkit.training``) import it themselves, so apo_tf's TensorFlow environment can use the skeletons,
metrics, datasets and viz without torch.
"""

__version__ = "0.1.0"
