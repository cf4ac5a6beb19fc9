"""The one place a device name from a config or flag becomes a ``torch.device``."""

from __future__ import annotations

import torch

from motionkit.errors import ConfigError

__all__ = ["resolve_device"]


def resolve_device(name: str | None) -> torch.device:
    """``""``, ``"auto"`` or None: CUDA when available, else CPU; otherwise the named device.

    A CUDA device on a machine without CUDA, or a name torch does not know, is a one-line :class:`ConfigError`.
    """
    if name is None or str(name).strip().lower() in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(str(name).strip())
    except (RuntimeError, ValueError):
        raise ConfigError(f"device {name!r} is not a device name (cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r}: CUDA is not available on this machine (use --device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ConfigError(f"device {name!r}: Apple MPS is not available on this machine (use --device cpu)")
    elif device.type != "cpu":  # meta holds no data, xpu/hpu/... are not built into this torch's kernels here
        raise ConfigError(f"device {name!r} is not supported (cpu, cuda, cuda:N or mps)")
    return device
