"""Declarative options: a dataclass per stage (or config section) whose fields carry their type, range,
default and a one-line doc; `parse` turns a YAML mapping into a validated instance. Every error names
its key path (`stages[4].minhash_dedup.num_perm: expected an integer >= 2, got 1`), and a misspelt key
gets the nearest known name. Unsupported type hints fail closed: a field this module cannot check is
a programming error, never a value let through."""

from __future__ import annotations

import dataclasses
import difflib
import operator
import types
import typing
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, TypeVar

from .errors import ConfigError

T = TypeVar("T")

_BOUNDS = {"ge": (operator.ge, ">="), "gt": (operator.gt, ">"), "le": (operator.le, "<="), "lt": (operator.lt, "<")}


class OptionError(ConfigError):
    """A check over several fields (a dataclass's `__post_init__`) failed; `key` names the field to blame."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


def option(
    default: Any,
    doc: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    file: bool = False,
) -> Any:
    """A field with its default, a one-line doc, optional bounds on numbers (None always passes
    them) and `file=True` for a path (or list of paths) that must name existing files."""
    bounds = {k: v for k, v in {"ge": ge, "gt": gt, "le": le, "lt": lt}.items() if v is not None}
    metadata = {"doc": doc, "bounds": bounds, "file": file}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def parse(cls: type[T], raw: Mapping[str, Any], where: str) -> T:
    """A validated instance of the options dataclass `cls` from a mapping of its field names."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(unknown_key(where, key, fields, "option"))
        check_value(f"{where}.{key}", value, hints[key], fields[key].metadata)
    missing = [name for name, f in fields.items() if name not in raw and _required(f)]
    if missing:
        raise ConfigError(f"{where}: missing option {missing[0]!r} ({docs(cls)[missing[0]] or 'no default'})")
    try:
        return cls(**raw)
    except OptionError as exc:
        raise ConfigError(f"{where}.{exc.key}: {exc.message}") from None


def unknown_key(where: str, key: Any, known: Iterable[str], what: str) -> str:
    """`where: unknown <what> 'key'; did you mean 'nearest'? (known: ...)`."""
    known = list(known)
    nearest = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
    return f"{where}: unknown {what} {key!r}{hint} ({what}s: {', '.join(known) or 'none'})"


def reject_unknown(raw: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = sorted(allowed)
    for key in raw:
        if key not in allowed:
            raise ConfigError(unknown_key(where, key, allowed, "key"))


def check_value(where: str, value: Any, hint: Any, metadata: Mapping[str, Any] | None = None) -> Any:
    """`value` if it has type `hint` and meets the bounds and file check in `metadata`; else one line."""
    bounds = (metadata or {}).get("bounds", {})
    if not _matches(value, hint) or not _within(value, bounds):
        raise ConfigError(f"{where}: expected {_describe(hint, bounds)}, got {value!r}")
    if (metadata or {}).get("file"):
        for path in value if isinstance(value, list) else [value]:
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{where}: file not found: {path}")
    return value


def docs(cls: type) -> dict[str, str]:
    """Field name -> its one-line doc."""
    return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls) if f.init}


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _within(value: Any, bounds: Mapping[str, float]) -> bool:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    return all(_BOUNDS[name][0](value, limit) for name, limit in bounds.items())


def _matches(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin in (list, tuple, set, frozenset):
        return isinstance(value, list) and (not args or all(_matches(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict) and all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool, list, dict):
        return isinstance(value, hint)
    raise TypeError(f"{hint!r} is not a type an option can have (use str, int, float, bool, Literal, list, dict, | None)")


def _describe(hint: Any, bounds: Mapping[str, float] | None = None) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a, bounds) for a in args)
    if hint is type(None):
        return "null"
    if origin in (list, tuple, set, frozenset):
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin is dict:
        return "a mapping"
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list", dict: "a mapping"}
    described = names.get(hint, str(hint))
    if hint in (int, float) and bounds:
        described += " " + " and ".join(f"{_BOUNDS[name][1]} {limit}" for name, limit in bounds.items())
    return described
