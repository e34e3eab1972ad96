"""Every feature's button values, declared once and registered on the one codec.

Each value is a frozen dataclass under a short prefix; adapters build buttons
with ``CODEC.encode(value)`` and read them back with ``CODEC.decode(data)``
(``STALE`` when the data means nothing). The wire forms are those the bot has
always sent, so buttons already in people's chats keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.forms.callbacks import CODEC

# --- leads (handlers/leads.py) ------------------------------------------------------------


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
class EditMenu:
    lead: int


@dataclass(frozen=True)
class EditField:
    lead: int
    field: int  # index in lead_updates.FIELDS


@dataclass(frozen=True)
class PromptSkip:
    nonce: str  # the pending prompt's: a button of an older prompt is stale


@dataclass(frozen=True)
class PromptCancel:
    nonce: str


@dataclass(frozen=True)
class EditValue:
    nonce: str
    option: int


@dataclass(frozen=True)
class EditDone:
    nonce: str


@dataclass(frozen=True)
class EditClear:
    nonce: str


for _prefix, _cls in {
    "lb:ls": LeadList,
    "lb:c": LeadCard,
    "lb:f": LeadFiles,
    "lb:sm": StageMenu,
    "lb:sg": StageChosen,
    "lb:v": VerifyLead,
    "lb:r": RejectLead,
    "lb:em": EditMenu,
    "lb:ef": EditField,
    "lb:sk": PromptSkip,
    "lb:x": PromptCancel,
    "lb:ev": EditValue,
    "lb:ed": EditDone,
    "lb:ec": EditClear,
}.items():
    CODEC.register(_prefix, _cls)
