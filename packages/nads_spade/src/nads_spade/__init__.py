"""NADS-Net (PVT-tiny backbone) and a SPADE generator for pose-driven in-cabin data augmentation."""

__version__ = "0.1.0"
