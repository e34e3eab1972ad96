"""A rules file's mistakes: one :class:`Problem` per mistake, all of them in one
:class:`RulesError` whose text is ready to show to an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One mistake in a rules file; ``loc`` is the path into the TOML data."""

    loc: tuple[str | int, ...]
    message: str
    line: int | None = None
    label: str = ""

    def render(self, source: str) -> str:
        where = source if self.line is None else f"{source} line {self.line}"
        if self.label:
            where += f", {self.label}"
        field = _field_name(self.loc)
        return f'{where}: field "{field}": {self.message}' if field else f"{where}: {self.message}"


class RulesError(Exception):
    """A rules file that cannot be used; ``str()`` is ready to show to an admin.

    Deliberately not a ValueError: pydantic would swallow a ValueError raised
    from a validator into its own error and lose the location.
    """

    def __init__(self, problems: Sequence[Problem], source: str = "rules.toml") -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__("\n".join(p.render(source) for p in self.problems))


def _field_name(loc: tuple[str | int, ...]) -> str:
    """``("rules", 3, "any_of", 0, "origins")`` → ``any_of[1].origins`` (1-based, as people count)."""
    rest = loc[2:] if len(loc) >= 2 and isinstance(loc[1], int) else loc
    text = ""
    for part in rest:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
