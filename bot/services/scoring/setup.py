"""The scoring setup: the rules in force, the calendar, the targets and the lead
form's choices, built once from the settings (``Services.scoring``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.assembly.config import ConfigError, Settings
from bot.domain.periods import Periods, WeeklySchedule
from bot.rules import (
    RulesError,
    RuleSet,
    load_preset,
    load_rules,
)

log = logging.getLogger("bot.services.scoring")


RANK_KINDS: tuple[str, ...] = ("week", "month", "quarter", "year")


STATE_KIND, STATE_KEY = "scoring", "rules"


class TargetSpec(BaseModel):
    """One annual target (年度目标) of every unit, e.g. 签约亿元以上项目 ≥ 2.

    Counts, in the year, the unit's leads that reached ``stage`` (with optional
    amount/origin/tag conditions), or its activities of kind ``activity``, or
    (neither given) the leads it reported. ``units`` overrides ``count`` per unit name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=40)
    count: int = Field(ge=1)
    stage: str | None = None
    activity: str | None = None
    min_amount_wan: Decimal | None = None
    origins: tuple[str, ...] | None = None
    tags_any: tuple[str, ...] | None = None
    only_verified: bool = False
    units: dict[str, int] = Field(default_factory=dict)

    def count_for(self, unit_name: str, short_name: str | None) -> int:
        return (
            self.units.get(unit_name)
            or (self.units.get(short_name) if short_name else None)
            or self.count
        )


@dataclass(frozen=True)
class ScoringSetup:
    rules: RuleSet
    periods: Periods
    zone: ZoneInfo
    source: str  # preset name or file path
    fingerprint: str
    targets: tuple[TargetSpec, ...] = ()
    funnel: tuple[str, str, str] = ("签约", "开工", "入统")
    # What a lead's form and /edit offer: {"industries"|"origins"|"tags"|"channels"|"stages": names}.
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def capped(self) -> bool:
        return bool(self.rules.caps) or any(m.cap is not None for m in self.rules.modules)


def periods_for(settings: Settings) -> Periods:
    schedule = WeeklySchedule(
        weekday=settings.deadline_weekday,
        time=settings.deadline_time,
        tz=settings.tz,
        holiday_shift=getattr(settings, "holiday_shift", True),
        extra_holidays=frozenset(getattr(settings, "extra_holidays", ()) or ()),
        extra_workdays=frozenset(getattr(settings, "extra_workdays", ()) or ()),
    )
    return Periods(schedule)


def load_rules_setting(value: str) -> tuple[RuleSet, str]:
    """``rules_file`` is a preset name (jiaocheng, kaihua) or a path to a TOML file: (rules, its text)."""
    from importlib import resources

    from bot.rules.schema import PRESETS

    if value in PRESETS:
        text = resources.files("bot.rules").joinpath("presets", f"{value}.toml").read_text("utf-8")
        return load_preset(value), text
    from pathlib import Path

    path = Path(value)
    if not path.is_file():
        raise ConfigError(
            f"config error: LEADBOT_RULES_FILE (rules_file): expected a preset ({', '.join(PRESETS)}) "
            f"or the path of a rules TOML file, got {value!r}"
        )
    return load_rules(path), path.read_text("utf-8-sig")


def _targets(settings: Settings) -> tuple[TargetSpec, ...]:
    raw: list[Any] = list(getattr(settings, "targets", []) or [])
    target_file = getattr(settings, "targets_file", None)
    if target_file:
        import tomllib
        from pathlib import Path

        try:
            raw = list(tomllib.loads(Path(target_file).read_text("utf-8-sig")).get("targets", []))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"config error: LEADBOT_TARGETS_FILE (targets_file): cannot read {target_file}: {exc}"
            ) from None
    try:
        return tuple(TargetSpec.model_validate(t) for t in raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"config error: targets: {where}: {err['msg']}") from None


CHOICE_FIELDS: tuple[str, ...] = ("industries", "origins", "tags", "channels", "stages")
_CHOICE_ALIASES = {
    "industry": "industries",
    "origin": "origins",
    "tag": "tags",
    "channel": "channels",
    "stage": "stages",
}


def lead_choices(settings: Settings, rules: RuleSet) -> dict[str, tuple[str, ...]]:
    """The choices a lead's form offers: the configured lists plus what the rules file adds.

    The rules file names the tags, industries and origins its rules need (``tags = [...]`` …);
    they are offered after the configured ones.  A list set explicitly in the configuration
    (``LEADBOT_TAGS`` …) is the override: it is offered exactly as configured.
    """
    explicit = set(getattr(settings, "model_fields_set", ()) or ())
    out: dict[str, tuple[str, ...]] = {}
    for name in CHOICE_FIELDS:
        base = list(
            getattr(settings, name, None)
            or Settings.model_fields[name].get_default(call_default_factory=True)
        )
        extra = () if name in explicit else tuple(getattr(rules, name, ()) or ())
        out[name] = tuple(dict.fromkeys([*base, *extra]))
    return out


def choices_for(setup: ScoringSetup, field_name: str) -> tuple[str, ...]:
    """The names a lead's ``field_name`` may take (industry/industries, origin, tags, channel, stage)."""
    return tuple(setup.choices.get(_CHOICE_ALIASES.get(field_name, field_name), ()))


def offered(settings: Settings, field_name: str) -> tuple[str, ...]:
    """:func:`choices_for` the setup of these settings: what a lead form may offer for the field."""
    return choices_for(setup_for(settings), field_name)


def setup_for(settings: Settings) -> ScoringSetup:
    """The rules, calendar and targets for these settings, built once per settings object (the
    composition root builds one and hands the result down as ``Services.scoring``)."""
    key = (
        getattr(settings, "rules_file", "jiaocheng"),
        settings.tz,
        settings.deadline_weekday,
        settings.deadline_time,
        getattr(settings, "holiday_shift", True),
        tuple(getattr(settings, "extra_holidays", ()) or ()),
        tuple(getattr(settings, "extra_workdays", ()) or ()),
        repr(getattr(settings, "targets", None)),
        getattr(settings, "targets_file", None),
        *(tuple(getattr(settings, f, None) or ()) for f in CHOICE_FIELDS),
        tuple(
            sorted(
                f for f in CHOICE_FIELDS if f in (getattr(settings, "model_fields_set", ()) or ())
            )
        ),
    )
    memo = settings._scoring_memo
    found = memo[1] if memo is not None and memo[0] == key else None
    if found is None:
        source = getattr(settings, "rules_file", "jiaocheng") or "jiaocheng"
        try:
            rules, text = load_rules_setting(source)
        except RulesError as exc:
            raise ConfigError(f"config error: rules file: {exc}") from None
        found = ScoringSetup(
            rules=rules,
            periods=periods_for(settings),
            zone=settings.zone,
            source=source,
            fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
            targets=_targets(settings),
            choices=lead_choices(settings, rules),
        )
        settings._scoring_memo = (key, found)
    return found
