"""Feature pyramid network over the PVT maps (256 channels, nearest upsampling).

Laterals L_i = ReLU(Conv1x1(C_i)), i = 2..5.
- ``standard`` (default, Lin et al. 2017): P5 = out5(L5); P_i = out_i(L_i + up(M_{i+1})) with the top-down
  merge M_5 = L5, M_i = L_i + up(M_{i+1}); 3x3 output conv on every level.
- ``original`` (the project's wiring, kept to load its checkpoints): P5 = out5(L5); P4 = L4 (no top-down, no
  smoothing; output_layer_4 exists but is unused); P3 = out3(L3 + up(L4)); P2 = out2(L2 + up(L3)).
Output: [P2, P3, P4, P5], each (B, 256, H/4 .. H/32).  2.62 M parameters at 256 channels.
"""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from motionkit.errors import ConfigError


class FPN(nn.Module):
    def __init__(self, in_channels=(64, 128, 320, 512), channels: int = 256, wiring: str = "standard"):
        super().__init__()
        if wiring not in ("standard", "original"):
            raise ConfigError(f"fpn_wiring: unknown value {wiring!r} (standard | original)")
        self.wiring = wiring
        for i, c in enumerate(in_channels):
            setattr(self, f"lateral_layer_{i + 2}", nn.Conv2d(c, channels, 1))
            setattr(self, f"output_layer_{i + 2}", nn.Conv2d(channels, channels, 3, padding=1))

    @staticmethod
    def _up(x, ref):
        return F.interpolate(x, size=ref.shape[-2:], mode="nearest")

    def forward(self, feats):
        lat = [F.relu(getattr(self, f"lateral_layer_{i + 2}")(f)) for i, f in enumerate(feats)]
        out = [getattr(self, f"output_layer_{i + 2}") for i in range(4)]
        l2, l3, l4, l5 = lat
        if self.wiring == "original":
            return [out[0](l2 + self._up(l3, l2)), out[1](l3 + self._up(l4, l3)), l4, out[3](l5)]
        m5 = l5
        m4 = l4 + self._up(m5, l4)
        m3 = l3 + self._up(m4, l3)
        m2 = l2 + self._up(m3, l2)
        return [out[0](m2), out[1](m3), out[2](m4), out[3](m5)]
