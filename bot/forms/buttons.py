"""Every feature's button values, declared once and registered on the one codec.

Each value is a frozen dataclass under a short prefix; adapters build buttons
with ``CODEC.encode(value)`` and read them back with ``CODEC.decode(data)``
(``STALE`` when the data means nothing). The wire forms are those the bot has
always sent, so buttons already in people's chats keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.forms.callbacks import CODEC

# --- leads (handlers/leads/) ------------------------------------------------------------
# The buttons that open a lead prompt (StageChosen, RejectLead, EditField) are here; the
# prompt's own buttons (skip, a choice, 完成, 清空, 取消) are the form engine's
# (bot/forms/lead_prompts.py). The old lb:sk / lb:x / lb:ev / lb:ed / lb:ec prompt buttons
# carried a user_data nonce and decode to STALE now.


@dataclass(frozen=True)
class LeadList:
    stage: str  # "a" (all stages) or the stage's index in the settings
    page: int


@dataclass(frozen=True)
class LeadCard:
    lead: int


@dataclass(frozen=True)
class LeadFiles:
    lead: int


@dataclass(frozen=True)
class StageMenu:
    lead: int


@dataclass(frozen=True)
class StageChosen:
    lead: int
    stage: int  # index in the settings' stages


@dataclass(frozen=True)
class VerifyLead:
    lead: int


@dataclass(frozen=True)
class RejectLead:
    lead: int


@dataclass(frozen=True)
class ConfirmNode:
    """A leader confirms a lead's stage node (seed 004: 逐节点认定)."""

    lead: int


@dataclass(frozen=True)
class EditMenu:
    lead: int


@dataclass(frozen=True)
class EditField:
    lead: int
    field: int  # index in lead_updates.FIELDS


for _prefix, _cls in {
    "lb:ls": LeadList,
    "lb:c": LeadCard,
    "lb:f": LeadFiles,
    "lb:sm": StageMenu,
    "lb:sg": StageChosen,
    "lb:v": VerifyLead,
    "lb:r": RejectLead,
    "lb:cf": ConfirmNode,
    "lb:em": EditMenu,
    "lb:ef": EditField,
}.items():
    CODEC.register(_prefix, _cls)


# --- weekly (handlers/weekly.py) ---------------------------------------------------------


@dataclass(frozen=True)
class WeeklyAct:
    """A weekly form button without an argument: current, quick, later, discard."""

    action: str


@dataclass(frozen=True)
class WeeklySection:
    """done / none / undo / edit of one section (leads, trips, progress, work)."""

    action: str
    section: str


@dataclass(frozen=True)
class WeeklyLead:
    """lead (toggle a lead in the list) / pick (the lead a progress line is about)."""

    action: str
    lead: int


@dataclass(frozen=True)
class WeeklyStage:
    stage: str  # the stage's index in the config, or "keep"


@dataclass(frozen=True)
class WeeklySubmit:
    draft: int
    rev: int


@dataclass(frozen=True)
class WeeklyDecision:
    """The head's buttons on a submission: ok (确认), ret (退回), show (the card again)."""

    version: int
    action: str


for _action in ("current", "quick", "later", "discard"):
    CODEC.register(f"wk:{_action}", WeeklyAct, action=_action)
for _action in ("done", "none", "undo", "edit"):
    CODEC.register(f"wk:{_action}", WeeklySection, action=_action)
for _action in ("lead", "pick"):
    CODEC.register(f"wk:{_action}", WeeklyLead, action=_action)
CODEC.register("wk:stage", WeeklyStage)
CODEC.register("wk:submit", WeeklySubmit)
CODEC.register("wkc", WeeklyDecision)


# --- activities (handlers/activity.py; the form's buttons are the engine's ap / as / ae) -----


@dataclass(frozen=True)
class ActivityReview:
    verdict: str  # ok | no
    activity: int


@dataclass(frozen=True)
class ActivityFiles:
    """[📎 附件] under an activity's review card: its files sent again (the trip report)."""

    activity: int


@dataclass(frozen=True)
class PlannedTrip:
    submission: int
    index: int

    @property
    def ref(self) -> str:
        return f"trip:{self.submission}:{self.index}"


CODEC.register("ar", ActivityReview)
CODEC.register("af", ActivityFiles)
CODEC.register("at:trip", PlannedTrip)


# --- ranking and language (handlers/ranking.py, handlers/start.py) ---------------------------


@dataclass(frozen=True)
class RankButton:
    kind: str
    category: str  # "" for every category


@dataclass(frozen=True)
class LanguageButton:
    code: str


CODEC.register("rk", RankButton)
CODEC.register("lang", LanguageButton)
