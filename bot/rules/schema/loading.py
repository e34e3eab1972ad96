"""Loading a rules file: read (size, encoding), parse the TOML, validate, and turn
every failure into a :class:`RulesError` that names the file line, the rule and the field.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from bot.rules.schema.models import MAX_FILE_BYTES, PRESETS, RULE_KINDS, RuleSet
from bot.rules.schema.problems import Problem, RulesError


def load_rules(path_or_text: str | os.PathLike[str]) -> RuleSet:
    """A path (``Path``, or a one-line string without ``=``) is read; any other string is the TOML itself."""
    if isinstance(path_or_text, str) and ("\n" in path_or_text or "=" in path_or_text):
        return load_rules_text(path_or_text)
    path = Path(path_or_text)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RulesError([Problem((), _too_big(size))], path.name)
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesError(
            [Problem((), f"cannot read the file: {exc.strerror or exc}")], str(path)
        ) from None
    return load_rules_text(_decode(raw, path.name), path.name)


def load_preset(name: str = "jiaocheng") -> RuleSet:
    """The shipped tables; an unknown name is a configuration mistake, reported like a file error."""
    if name not in PRESETS:
        raise RulesError(
            [Problem((), f'unknown preset "{name}" (known: {", ".join(PRESETS)})')], "preset"
        )
    text = resources.files("bot.rules").joinpath("presets", f"{name}.toml").read_text("utf-8")
    return load_rules_text(text, f"{name}.toml")


def load_rules_text(text: str, source: str = "rules.toml") -> RuleSet:
    """Parse and validate; every failure becomes a :class:`RulesError` naming line and field."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise RulesError([Problem((), _too_big(size))], source)
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([_toml_problem(exc, text)], source) from None
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = [_pydantic_problem(err) for err in _innermost(exc.errors(include_url=False))]
    except RulesError as exc:
        problems = list(exc.problems)
    raise RulesError([_locate(p, text, data) for p in problems], source) from None


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")  # Windows editors add a BOM
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problem = Problem((), "is not UTF-8 text; save the file as UTF-8", line)
        raise RulesError([problem], source) from None


def _too_big(size: int) -> str:
    return f"the file is {size / 1024 / 1024:.1f} MB; a rules file may be at most 1 MB — is this the right file?"


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


_BARE_NON_ASCII_KEY = re.compile(r"^\s*[^\x00-\x7f\s\"'=#\[][^=\"']*=")


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str = "") -> Problem:
    message = str(exc)
    match = _TOML_AT.search(message)
    if match is None:
        return Problem((), f"invalid TOML: {message}")
    detail = message[: match.start()]
    line = int(match.group(1))
    lines = text.splitlines()
    if 0 < line <= len(lines) and _BARE_NON_ASCII_KEY.match(lines[line - 1]):
        # 在谈 = 90: TOML names without quotes may only use ASCII letters, digits, - and _
        detail += '; a Chinese name before "=" must be in double quotes, e.g. "在谈" = 90'
    return Problem((), f"invalid TOML: {detail}", line, f"column {match.group(2)}")


# --------------------------------------------------------------------------- #
# Error messages and locations
# --------------------------------------------------------------------------- #


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field (check the spelling; see docs/rules.md)",
    "int_type": "must be a whole number without quotes, e.g. 2",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "bool_type": "must be true or false (without quotes)",
    "string_type": "must be text in quotes",
    "tuple_type": 'must be a list, e.g. ["a", "b"]',
    "dict_type": "must be a table of names",
    "model_type": "must be a table of fields",
    "too_short": "must not be empty",
}


def _innermost(errors: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A list with one bad item also fails as "too short"; the item's own error says more."""
    locs = [tuple(err["loc"]) for err in errors]
    return [
        err
        for err, loc in zip(errors, locs, strict=True)
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
    ]


def _pydantic_problem(err: Mapping[str, Any]) -> Problem:
    loc = tuple(
        part for part in _strip_tag(tuple(err["loc"])) if part != "[key]"
    )  # a bad table key
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "union_tag_invalid":
        return Problem(
            (*loc, "kind"),
            f'unknown rule kind "{ctx.get("tag")}": expected one of {", ".join(RULE_KINDS)}',
        )
    if kind == "union_tag_not_found":
        return Problem((*loc, "kind"), f"is required: one of {', '.join(RULE_KINDS)}")
    if kind == "literal_error":
        return Problem(loc, f"must be one of {ctx.get('expected')}")
    if kind == "value_error":
        return Problem(loc, str(ctx.get("error", err["msg"])))
    template = _MESSAGES.get(kind)
    return Problem(loc, template.format(**ctx) if template else err["msg"])


def _strip_tag(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """pydantic puts the discriminator value into the path (rules, 3, "event", "points")."""
    if len(loc) >= 3 and loc[0] == "rules" and isinstance(loc[1], int) and loc[2] in RULE_KINDS:
        return loc[:2] + loc[3:]
    return loc


_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")


def _headers(lines: Sequence[str]) -> list[tuple[int, bool, str]]:
    """(line index, is array-of-tables, dotted name) for every table header."""
    found = []
    for i, line in enumerate(lines):
        match = _ARRAY_HEADER.match(line) or _TABLE_HEADER.match(line)
        if match:
            found.append((i, match.re is _ARRAY_HEADER, re.sub(r"\s+", "", match.group(1))))
    return found


def _locate(problem: Problem, text: str, data: Mapping[str, Any]) -> Problem:
    """Attach the 1-based line and the rule/module/cap label to a problem."""
    if not problem.loc:
        return problem
    lines = text.splitlines()
    start, end = _block(problem.loc, lines)
    inner = (
        problem.loc[2:]
        if len(problem.loc) >= 2 and isinstance(problem.loc[1], int)
        else problem.loc[1:]
    )
    line = _key_line(lines, start, end, inner or problem.loc[:1], str(problem.loc[0]))
    if line is None and start is not None:
        # A missing field has no line of its own: point at the rule's id, else its table's header,
        # else the line that starts the section (an inline table).
        line = _key_line(lines, start, end, ["id"]) if len(problem.loc) >= 2 else None
        if line is None:
            is_header = bool(_headers(lines[start : start + 1]))
            line = start if is_header else _key_line(lines, 0, len(lines), problem.loc[:1])
    return Problem(
        problem.loc, problem.message, None if line is None else line + 1, _label(problem.loc, data)
    )


def _block(loc: tuple[str | int, ...], lines: Sequence[str]) -> tuple[int | None, int]:
    """Line range of the table the location points into; (0, first header) for top-level keys."""
    headers = _headers(lines)
    first_header = headers[0][0] if headers else len(lines)
    if not loc or not isinstance(loc[0], str):
        return 0, first_header
    name = loc[0]
    if len(loc) >= 2 and isinstance(loc[1], int):
        starts = [i for i, array, n in headers if array and n == name]
        if loc[1] >= len(starts):
            return None, len(lines)
        start = starts[loc[1]]
    else:
        starts = [i for i, array, n in headers if not array and n == name]
        if not starts:
            return 0, first_header
        start = starts[0]
    after = [i for i, _, n in headers if i > start and not n.startswith(name + ".")]
    return start, after[0] if after else len(lines)


def _key_line(
    lines: Sequence[str], start: int | None, end: int, path: Sequence[str | int], section: str = ""
) -> int | None:
    """The ``key = …`` line in the block, or the line inside the n-th ``[[section.key]]`` sub-table."""
    if start is None or not path:
        return None
    key = str(path[0])
    assignment = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    found = next((i for i in range(start, end) if assignment.match(lines[i])), None)
    if found is not None or not section:
        return found
    nested = [start + i for i, _, name in _headers(lines[start:end]) if name == f"{section}.{key}"]
    if not nested:
        return None
    index = path[1] if len(path) >= 2 and isinstance(path[1], int) else 0
    header = nested[min(index, len(nested) - 1)]
    following = [i for i, _, _ in _headers(lines) if i > header]
    inner = _key_line(lines, header + 1, min([end, *following]), path[2:])
    return header if inner is None else inner


def _label(loc: tuple[str | int, ...], data: Mapping[str, Any]) -> str:
    """rule "signed_big" / module "info" / cap #2, from the raw data so it works for broken rules too."""
    if len(loc) < 2 or not isinstance(loc[1], int):
        return ""
    section, index = loc[0], loc[1]
    items = data.get(str(section))
    item = items[index] if isinstance(items, list) and index < len(items) else {}
    ident = item.get("name" if section == "caps" else "id") if isinstance(item, dict) else None
    noun = {"rules": "rule", "modules": "module", "caps": "cap"}.get(str(section), str(section))
    if isinstance(ident, str):
        return f'{noun} "{ident}"'
    return f"{noun} #{index + 1}"
