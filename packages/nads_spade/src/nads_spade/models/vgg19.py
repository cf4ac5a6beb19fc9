"""VGG19 (configuration 'E') feature extractor for the perceptual loss, written here (no torchvision).

``features`` is an nn.Sequential with torchvision's indices (conv at 0,2,5,7,10,12,14,16,19,21,23,25,28,30,32,34;
ReLU after each; MaxPool at 4,9,18,27,36) so torchvision's ``vgg19-dcbb9e9d.pth`` loads with strict=False
(classifier.* ignored). SPADE's slices give relu1_1, relu2_1, relu3_1, relu4_1, relu5_1:
features[0:2], [2:7], [7:12], [12:21], [21:30].
"""

from __future__ import annotations

import torch
import torch.nn as nn

from motionkit.errors import CheckpointError

CFG_E = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
SLICES = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))


class VGG19(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 3
        for v in CFG_E:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.requires_grad_(False)

    def load_torchvision(self, path_or_state) -> None:
        """Load a torchvision-format VGG19 state dict (path, read with the restricted unpickler, or dict); a file
        that is damaged, lacks a conv or has other shapes is a one-line CheckpointError."""
        state = path_or_state
        if not isinstance(state, dict):
            from nads_spade.compat import read_weights

            state = read_weights(path_or_state)
        where = path_or_state if not isinstance(path_or_state, dict) else "VGG19 weights"
        feats = {k: v for k, v in state.items() if k.startswith("features.")}
        try:
            missing, _ = self.load_state_dict(feats, strict=False)
        except RuntimeError as exc:
            raise CheckpointError(f"{where}: does not fit VGG19 ({str(exc).splitlines()[-1].strip()[:160]})") from None
        if missing:
            raise CheckpointError(f"{where}: lacks VGG19 tensors {missing[:4]} (is it torchvision's "
                                  "vgg19-dcbb9e9d.pth?)")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (B, 3, H, W) -> [relu1_1, relu2_1, relu3_1, relu4_1, relu5_1]."""
        outs = []
        for a, b in SLICES:
            x = self.features[a:b](x)
            outs.append(x)
        return outs
