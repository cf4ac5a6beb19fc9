"""The original's ``train.py`` command line: its flags (``argsUtils.py``) and one step writing its save folder."""

from __future__ import annotations


def add_original_arguments(parser) -> None:
    """Every flag of the original's argsUtils.py, single-dash as the original spells them."""


def run_original_train(args) -> None:
    from motionkit.errors import ConfigError
    raise ConfigError("train: not implemented yet")
