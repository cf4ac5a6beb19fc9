"""Data: raw-file readers, node-layout windows, multimodal ground truth, derived caches, synthetic stand-in."""
