"""Helpers shared by the deepnag tests (a uniquely named module, so test sessions over several packages
never confuse it with another package's conftest)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
TEST_CONFIG = PACKAGE / "configs" / "test-small.yaml"


def naive_soft_dtw(a, b, gamma, cost):
    """Textbook soft-DTW recursion in Python floats (for hand checks on tiny inputs)."""
    import math

    n, m = len(a), len(b)
    R = [[math.inf] * (m + 1) for _ in range(n + 1)]
    R[0][0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            prev = [R[i - 1][j - 1], R[i - 1][j], R[i][j - 1]]
            finite = [p for p in prev if p < math.inf]
            mn = min(finite)
            soft = mn - gamma * math.log(sum(math.exp(-(p - mn) / gamma) for p in finite))
            R[i][j] = cost(a[i - 1], b[j - 1]) + soft
    return R[n][m]


# ------------------------------------------------------------------ files in the original DeepNAG's format


def _original_normalizer_class():
    """A class pickled as `dataloader.utils.MinMaxNormalizer` with the original's attributes (min, max:
    float32 (1, F) arrays; factors_computed), so test files hold exactly what the original's save writes."""
    import sys
    import types

    module = sys.modules.get("dataloader.utils")
    if module is None or not hasattr(module, "MinMaxNormalizer"):
        package = types.ModuleType("dataloader")
        module = types.ModuleType("dataloader.utils")

        class MinMaxNormalizer:
            pass

        MinMaxNormalizer.__module__ = "dataloader.utils"
        MinMaxNormalizer.__qualname__ = "MinMaxNormalizer"
        module.MinMaxNormalizer = MinMaxNormalizer
        package.utils = module
        sys.modules.setdefault("dataloader", package)
        sys.modules["dataloader.utils"] = module
    return module.MinMaxNormalizer


class OriginalGenerator:
    """The original's DeepNAGNet layout (gru1..gru3, fc = Sequential(Linear, Tanh)) and forward, built here so
    tests have its exact state-dict names (under DataParallel: `module.gru1.weight_ih_l0`, `module.fc.0.weight`)."""

    @staticmethod
    def build(latent_dim, n_features, n_classes, hidden=(128, 256, 512)):
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                sizes = [latent_dim + n_classes, *hidden]
                for k in range(3):
                    setattr(self, f"gru{k + 1}", nn.GRU(sizes[k], sizes[k + 1], 1, batch_first=True))
                self.fc = nn.Sequential(nn.Linear(sizes[-1], n_features), nn.Tanh())

            def forward(self, z, onehot):
                h = torch.cat([z, onehot], dim=2)
                for k in range(3):
                    h, _ = getattr(self, f"gru{k + 1}")(h)
                return self.fc(h)

        return Net()


def original_critic_state(n_features, n_classes, hidden=(512, 256, 128)):
    """The original's DataParallel(DeepGANDiscriminator) state dict: JitGRU names module.gru<k>.layers.0.cell.*."""
    from collections import OrderedDict

    import torch

    sizes = [n_features + n_classes, *hidden]
    sd = OrderedDict()
    for k in range(3):
        h, i = sizes[k + 1], sizes[k]
        for name, shape in (("weight_ih", (3 * h, i)), ("weight_hh", (3 * h, h)), ("bias_ih", (3 * h,)),
                            ("bias_hh", (3 * h,))):
            sd[f"module.gru{k + 1}.layers.0.cell.{name}"] = torch.randn(shape) * 0.1
    sd["module.fc.weight"] = torch.randn(1, sizes[-1]) * 0.1
    sd["module.fc.bias"] = torch.randn(1) * 0.1
    return sd


def write_original_checkpoint(path, model="DeepNAG", n_features=2, n_classes=16, latent_dim=8,
                              hidden=(8, 8, 16), seed=0, legacy=False):
    """Write `path` as the original's `torch.save(self._get_state(), ...)` does; returns the generator net
    (the original's layout) so tests can compare outputs. legacy=True: the pre-1.6 torch.save format (the
    original's 2020 files may be either)."""
    import numpy as np
    import torch

    torch.manual_seed(seed)
    net = OriginalGenerator.build(latent_dim, n_features, n_classes, hidden)
    wrapped = torch.nn.DataParallel(net)
    opt = torch.optim.Adam(wrapped.parameters(), lr=1e-4, betas=(0.5, 0.9))
    normalizer = _original_normalizer_class()()
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-5, 0, size=(1, n_features)).astype(np.float32)
    normalizer.min, normalizer.max, normalizer.factors_computed = lo, lo + 10.0, True
    state = {"model": model, "generator": wrapped.state_dict(), "optimizer": opt.state_dict(),
             "normalizer": normalizer}
    if model == "DeepGAN":
        state["discriminator"] = original_critic_state(n_features, n_classes, (16, 8, 8))
        state["optimizer"] = {"g": opt.state_dict(), "d": opt.state_dict()}
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return net
