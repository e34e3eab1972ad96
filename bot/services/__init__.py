"""Use cases. Each takes a session (unit of work) and plain values, returns plain data.

Handlers call these and render the result; nothing here knows about Telegram.
Failures the user can fix are :class:`ServiceError` with a catalog key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.assembly.clock import Clock
from bot.assembly.config import Settings
from storage.claims import UpdateClaims
from storage.db import Database

if TYPE_CHECKING:
    from bot.domain.periods import Periods
    from bot.operations.isolated import Workers
    from bot.services.access import ActorCache
    from bot.services.leads import CompanyDirectory
    from bot.services.scoring import ScoringSetup


class ServiceError(Exception):
    """A refusal the user can act on: ``code`` is a catalog key, ``params`` its values."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Services:
    """What every use case may depend on, built once by the composition root."""

    db: Database
    clock: Clock
    settings: Settings
    directory: CompanyDirectory = field(default_factory=lambda: _directory())
    actors: ActorCache = field(default_factory=lambda: _actors())
    workers: Workers = field(default_factory=lambda: _workers())  # render processes
    claims: UpdateClaims = field(init=False)
    scoring: ScoringSetup = field(init=False)  # the rules in force (a bad rules file stops here)

    def __post_init__(self) -> None:
        self.claims = UpdateClaims(self.db)
        self.scoring = _scoring(self.settings)

    @property
    def periods(self) -> Periods:
        """The one calendar of weeks, months, quarters and years (with its holiday shifts)."""
        return self.scoring.periods


def _scoring(settings: Settings) -> ScoringSetup:
    from bot.services.scoring import setup_for

    return setup_for(settings)


def _workers() -> Workers:
    from bot.operations.isolated import Workers

    return Workers()


def _actors() -> ActorCache:
    from bot.services.access import ActorCache

    return ActorCache()


def _directory() -> CompanyDirectory:
    from bot.services.leads import CompanyDirectory

    return CompanyDirectory()
