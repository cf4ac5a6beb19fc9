"""Config -> CLI: typed flags with help and choices, one-line errors, config by name or path."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal

import pytest

from motionkit.cli import (
    add_config_arguments,
    add_run_arguments,
    config_overrides,
    field_help,
    make_parser,
    resolve_config_path,
)
from motionkit.config import load_config
from motionkit.errors import ConfigError


@dataclass
class Demo:
    batch_size: int = 64  # samples per step
    lr: float = 1e-3  # Adam learning rate
    optimizer: Literal["adam", "sgd"] = "adam"  # which optimiser
    speakers: list[str] = field(default_factory=lambda: ["oliver"])  # speakers in order
    groups: list[list[str]] = field(default_factory=list)  # speakers learnt at each step
    use_tb: bool = False
    device: str = ""  # cpu | cuda


def _parser():
    parser = make_parser("demo", "A demo.", ["python -m demo.main --lr 1e-4"])
    add_config_arguments(parser, Demo, single_dash=True)
    add_run_arguments(parser, precision_choices=("fp32", "bf16"))
    return parser


def test_every_field_is_a_typed_flag_with_help():
    text = _parser().format_help()
    for flag in ("--batch_size", "--batch-size", "--lr", "--optimizer", "--speakers", "--use_tb", "--config",
                 "--resume", "--seed", "--run-name", "--log-dir", "--precision"):
        assert flag in text
    assert "samples per step (default: 64)" in text
    assert "{adam,sgd}" in text
    assert "python -m demo.main --lr 1e-4" in text
    assert field_help(Demo)["device"] == "cpu | cuda"


def test_values_are_typed_and_only_given_fields_override():
    args = _parser().parse_args(["--batch-size", "8", "-lr", "0.5", "--use_tb", "1", "--speakers", "a,b"])
    over = config_overrides(args, Demo)
    assert over == {"batch_size": 8, "lr": 0.5, "use_tb": True, "speakers": ["a", "b"]}
    cfg = load_config(Demo, None, over)
    assert cfg.batch_size == 8 and cfg.speakers == ["a", "b"]
    nested = _parser().parse_args(["-groups", '[["oliver"], ["oliver", "maher"]]'])
    assert nested.groups == [["oliver"], ["oliver", "maher"]]


@pytest.mark.fault(3, "a flag value of the wrong type")
@pytest.mark.parametrize("argv, needle", [
    (["--batch_size", "many"], "--batch_size"),
    (["--batch_size", "inf"], "--batch_size"),
    (["--batch_size", "1e400"], "--batch_size"),
    (["--optimizer", "adamw"], "adamw"),
    (["--no-such-flag"], "--no-such-flag"),
])
def test_bad_values_are_one_line_errors(argv, needle):
    code = ("import sys; sys.path[:0] = [{!r}]; import test_cli as t; t._parser().parse_args({!r})"
            .format(str(__import__("pathlib").Path(__file__).parent), argv))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_literal_checked_when_the_config_is_built(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optimizer: rmsprop\n")
    with pytest.raises(ConfigError, match="'rmsprop' is not one of 'adam', 'sgd'"):
        load_config(Demo, path)


def test_config_by_name_or_path(tmp_path):
    (tmp_path / "paper.yaml").write_text("lr: 0.1\n")
    assert resolve_config_path("paper", tmp_path) == tmp_path / "paper.yaml"
    assert resolve_config_path("paper.yaml", tmp_path) == tmp_path / "paper.yaml"
    assert resolve_config_path(str(tmp_path / "paper.yaml"), "/nowhere") == tmp_path / "paper.yaml"
    assert resolve_config_path(None, tmp_path) is None
    with pytest.raises(ConfigError, match="one of: paper"):
        resolve_config_path("papr", tmp_path)
