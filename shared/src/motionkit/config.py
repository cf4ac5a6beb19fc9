"""YAML configs into dataclasses, with command-line overrides.

Every package keeps one dataclass with every hyperparameter (``<pkg>/config.py``). This module fills it from a
YAML file (keys must be fields), then applies overrides (e.g. parsed CLI flags; ``None`` means "not given"), and
coerces values to the field types so that ``--lr 1e-3`` and ``lr: 1e-3`` both give a float.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from motionkit.errors import ConfigError

T = TypeVar("T")


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if value is None:
        return None
    if origin is typing.Literal:
        return _coerce_literal(value, args, where)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _coerce(value, non_none[0], where)
        for candidate in non_none:
            try:
                return _coerce(value, candidate, where)
            except (ConfigError, TypeError, ValueError):
                continue
        raise ConfigError(f"{where}: cannot interpret {value!r} as {annotation}")
    if origin in (list, tuple):
        if isinstance(value, str) and value.strip().startswith("["):
            value = _parse_inline(value, where)  # '[["oliver"], ["oliver", "maher"]]'
        elif isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, where) if inner is not Any and inner is not Ellipsis else v for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict or annotation is dict:
        if isinstance(value, str):
            value = _parse_inline(value, where)
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(value)
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected a boolean, got {value!r}")
    if annotation is int:
        return _as_int(value, where)
    if annotation in (float, str):
        try:
            if annotation is int and isinstance(value, float) and not value.is_integer():
                raise ValueError
            return annotation(value) if annotation is not int else int(float(value))
        except (TypeError, ValueError, OverflowError):  # OverflowError: int("inf"), int("1e400")
            raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}") from None
    return value


def _parse_inline(text: str, where: str) -> Any:
    """A JSON/YAML value written inline on a command line (``'{"a": 1}'``, ``'[[1], [1, 2]]'``)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"{where}: cannot parse {text!r} as JSON/YAML") from None


def _coerce_literal(value: Any, choices: tuple, where: str) -> Any:
    """``value`` as one of ``choices`` (``"3"`` matches ``3``); anything else is one line listing them."""
    for choice in choices:
        if value == choice or (not isinstance(value, bool) and str(value) == str(choice)):
            return choice
    listed = ", ".join(repr(c) for c in choices)
    raise ConfigError(f"{where}: {value!r} is not one of {listed}")


def _as_int(value: Any, where: str) -> int:
    """A whole number: an int, a float or text holding one exactly ("3", "3.0", "1e3"); not a bool, not 1.5,
    not beyond 2**53 when written as a float (it would be rounded silently)."""
    problem = ConfigError(f"{where}: expected a whole number, got {value!r}")
    if isinstance(value, bool):
        raise problem
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise problem from None
    if not (math.isfinite(number) and number.is_integer() and abs(number) < 2**53):
        raise problem
    return int(number)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (not last-one-wins)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _allows_none(annotation: Any) -> bool:
    return annotation is Any or type(None) in typing.get_args(annotation)


def load_config(cls: type[T], path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> T:
    """Build ``cls`` (a dataclass) from defaults, then the YAML file at ``path``, then ``overrides``.

    Raises :class:`ConfigError` (one line naming the file and key) for a missing file, invalid YAML, an unknown
    key or a value of the wrong type.
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder, not a config file")
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        try:
            loaded = yaml.load(path.read_bytes().decode("utf-8"), Loader=_UniqueKeyLoader) or {}
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
        defaults = {f.name: field_default(f) for f in dataclasses.fields(cls)}
        for key, value in loaded.items():
            if key not in fields:
                raise ConfigError(f"{path}: unknown key {key!r}")
            if value is None and defaults[key] is not None and not _allows_none(hints[key]):
                default = "" if defaults[key] is dataclasses.MISSING else f" ({defaults[key]!r})"
                raise ConfigError(f"{path}: {key}: empty (null); give a value, or leave the key out for its "
                                  f"default{default}")
            values[key] = _coerce(value, hints[key], f"{path}: {key}")
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in fields:
            raise ConfigError(f"unknown option {key!r}")
        values[key] = _coerce(value, hints[key], f"option {key}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{_blame(str(exc), overrides or {}, path, cls)}: {exc}") from None


def _blame(message: str, overrides: dict[str, Any], path: Path | None, cls: type) -> str:
    """Where a value rejected by the dataclass came from: the command-line option it names, else the file."""
    bare = message.lstrip("-").replace("-", "_")  # "lr must", "--lr must", "--batch-size must" name fields
    named = [k for k, v in overrides.items() if v is not None and bare.startswith(k.replace("-", "_"))]
    if named:
        return f"option --{max(named, key=len)}"
    return str(path) if path is not None else cls.__name__


def field_default(f: dataclasses.Field) -> Any:
    """A dataclass field's default value (its factory called), or ``dataclasses.MISSING`` when it has none."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The dataclass as a plain dict (tuples become lists, for YAML/JSON)."""
    out = {}
    for key, value in dataclasses.asdict(cfg).items():
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def format_config(cfg: Any) -> str:
    """A readable block of ``key: value`` lines, printed at the start of every run."""
    items = config_to_dict(cfg)
    width = max((len(k) for k in items), default=0)
    lines = [f"{type(cfg).__name__}:"] + [f"  {k:<{width}} = {v!r}" for k, v in items.items()]
    return "\n".join(lines)


def save_config(cfg: Any, path: str | Path) -> None:
    """Write the config as YAML (e.g. into a run folder, so a run can be reproduced); atomically, so a kill
    leaves the old record or the new one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # name the record, not its temporary (a full disk says nothing else)
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
