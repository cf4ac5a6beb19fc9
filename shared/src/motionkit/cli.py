"""Command lines built from the config dataclass, the same way in every package.

Every field of a package's ``Config`` becomes a typed flag (``--batch_size`` and ``--batch-size`` alike) whose
help is the field's trailing ``# comment`` in the class source and whose choices come from ``Literal[...]``.
The generic options (``--config``, ``--resume``, ``--device``, ``--seed``, ``--run-name``, ``--log-dir``,
``--precision``) mean the same in all five packages::

    parser = make_parser("deepnag", "Train or evaluate DeepNAG.", ["python -m deepnag.main --epochs 5"])
    add_config_arguments(parser, Config)
    add_run_arguments(parser)
    args = parser.parse_args()
    cfg = load_config(Config, resolve_config_path(args.config, CONFIG_DIR), config_overrides(args, Config))

Standard library and PyYAML only (no torch), so the TensorFlow package uses it too.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import io
import tokenize
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from motionkit.config import _coerce, field_default
from motionkit.errors import ConfigError

__all__ = [
    "make_parser", "add_config_arguments", "add_run_arguments", "config_overrides", "resolve_config_path",
    "field_help", "literal_choices",
]

_GENERIC = {
    "device": "cpu, cuda, cuda:1 ... (default: cuda when available)",
    "seed": "random seed of the run",
    "run_name": "run folder name under --log-dir/<package> (default: from the model and data set)",
    "log_dir": "root of every run folder (default: runs)",
}


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows each flag's default."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=118)


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is ``error: <message>`` on one line (exit status 2), without the usage block."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"error: {self.prog}: {' '.join(message.split())} (see --help)\n")


def make_parser(prog: str, description: str, examples: Sequence[str] = ()) -> argparse.ArgumentParser:
    """A parser whose ``--help`` ends with worked examples; abbreviations of long flags are not accepted."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples) if examples else None
    return _OneLineErrorParser(prog=prog, description=description, epilog=epilog, formatter_class=_Formatter,
                               allow_abbrev=False)


def field_help(cls: type) -> dict[str, str]:
    """Each field's documentation: ``field(metadata={"help": ...})``, else its trailing ``# comment``."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            out.update(_trailing_comments(klass))
    for f in dataclasses.fields(cls):
        if "help" in f.metadata:
            out[f.name] = str(f.metadata["help"])
    return out


def _trailing_comments(klass: type) -> dict[str, str]:
    """``name: type = value  # comment`` lines of a class body, as ``{name: comment}``."""
    try:
        source = inspect.getsource(klass)
    except (OSError, TypeError):
        return {}
    names = {f.name for f in dataclasses.fields(klass)}
    out: dict[str, str] = {}
    line_field: dict[int, str] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string in names and tok.start[1] == 4:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.string == ":":
                line_field[tok.start[0]] = tok.string
        elif tok.type == tokenize.COMMENT:
            name = line_field.get(tok.start[0])
            if name is not None and name not in out:
                out[name] = tok.string.lstrip("#").strip()
    return out


def literal_choices(annotation: Any) -> tuple | None:
    """The allowed values of a ``Literal[...]`` annotation (also inside ``Optional``), else None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = literal_choices(arg)
            if found is not None:
                return found
    return None


def _value_parser(annotation: Any, name: str):
    """The argparse ``type=``: parse one command-line string as the field's type (lists stay strings here;
    motionkit.config coerces them)."""
    def parse(text: str) -> Any:
        try:
            return _coerce(text, annotation, f"--{name}")
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--{name}: ")) from None

    parse.__name__ = getattr(annotation, "__name__", "value")
    return parse


def _metavar(annotation: Any, choices: tuple | None) -> str:
    if choices is not None:
        return "{" + ",".join(str(c) for c in choices) + "}"
    base = annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        base = next((a for a in typing.get_args(annotation) if a is not type(None)), str)
    origin = typing.get_origin(base)
    if origin in (list, tuple):
        return "A,B,..."
    if origin is dict or base is dict:
        return "JSON"
    return {bool: "0|1", int: "INT", float: "FLOAT", str: "STR"}.get(base, "VALUE")


def add_config_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    skip: Iterable[str] = (),
    aliases: dict[str, Sequence[str]] | None = None,
    single_dash: bool = False,
) -> None:
    """Add one typed flag per field of the dataclass ``cls`` (``dest`` is the field name, default ``None``).

    Args:
        skip: fields that get no flag (e.g. ones a subcommand sets itself).
        aliases: more spellings per field, e.g. ``{"dataset": ["--dataset-name"]}``.
        single_dash: also accept ``-field_name`` (grammars of originals that used single-dash long flags).
    """
    hints = typing.get_type_hints(cls)
    docs = field_help(cls)
    skip = set(skip)
    aliases = aliases or {}
    defaults = {f.name: field_default(f) for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        annotation = hints[f.name]
        choices = literal_choices(annotation)
        spellings = [f"--{f.name}"]
        if "_" in f.name:
            spellings.append(f"--{f.name.replace('_', '-')}")
        if single_dash:
            spellings.append(f"-{f.name}")
        spellings += [s for s in aliases.get(f.name, ()) if s not in spellings]
        text = docs.get(f.name, "")
        default = defaults[f.name]
        if default is not dataclasses.MISSING:
            text = f"{text} (default: {_show(default)})" if text else f"default: {_show(default)}"
        parser.add_argument(*spellings, dest=f.name, default=None, type=_value_parser(annotation, f.name),
                            metavar=_metavar(annotation, choices), help=text.replace("%", "%%"))


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "none"
    if value == "":
        return '""'
    return str(value)


def _has_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *flags: str) -> bool:
    known = getattr(parser, "_option_string_actions", {})
    return any(flag in known for flag in flags)


def add_run_arguments(parser: argparse.ArgumentParser, *, precision_choices: Sequence[str] | None = None) -> None:
    """The generic options of every package that the config does not already provide as fields."""
    if not _has_option(parser, "--config"):
        parser.add_argument("--config", metavar="NAME|PATH",
                            help="a config of this package by name (e.g. its paper setting) or a YAML path")
    if not _has_option(parser, "--resume"):
        parser.add_argument("--resume", nargs="?", const="", default=None, metavar="RUN",
                            help="continue the latest run of this name, or the run folder RUN (name or path); "
                                 "without it every invocation starts a new run folder")
    for name, text in _GENERIC.items():
        flag = "--" + name.replace("_", "-")
        if not _has_option(parser, flag, f"--{name}"):
            parser.add_argument(flag, *([f"--{name}"] if "_" in name else []), dest=name, default=None,
                                type=int if name == "seed" else str, help=text)
    if precision_choices is not None and not _has_option(parser, "--precision"):
        parser.add_argument("--precision", choices=tuple(precision_choices), default=None,
                            help="arithmetic of the model's forward pass")


def config_overrides(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """``{field: value}`` for each field of ``cls`` that was given on the command line."""
    given = vars(args)
    return {f.name: given[f.name] for f in dataclasses.fields(cls) if given.get(f.name) is not None}


def resolve_config_path(name_or_path: str | Path | None, config_dir: str | Path) -> Path | None:
    """``"h36m_t2"``, ``"h36m_t2.yaml"`` (looked up in ``config_dir``) or a path; None stays None.

    An unknown name is a :class:`ConfigError` listing the configs that exist.
    """
    if name_or_path is None or str(name_or_path) == "":
        return None
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    if candidate.exists() and not candidate.is_dir():
        raise ConfigError(f"config {str(name_or_path)!r}: not a regular file (a device or a pipe)")
    config_dir = Path(config_dir)
    for path in (config_dir / candidate.name, config_dir / f"{candidate.name}.yaml"):
        if path.is_file():
            return path
    names = sorted(p.stem for p in config_dir.glob("*.yaml"))
    raise ConfigError(f"config {str(name_or_path)!r} not found (a YAML path, or one of: {', '.join(names)})")
