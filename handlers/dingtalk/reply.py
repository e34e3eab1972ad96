"""What the DingTalk adapter answers: text (catalog HTML, rendered for DingTalk when sent)
and buttons that send their answer back as the user's own message (docs/dingtalk.md).

A button's answer is ``<label> [<codec data>]``: the label the chat history shows and the
value the one callback codec decodes (:data:`BUTTON_RE` reads it back). An engine form's
buttons carry the engine's own encoding; every other button a typed value of
:mod:`bot.forms.buttons` (a lead's card, the head's 确认 …), encoded by the codec.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.catalog import Html
from bot.forms import FormEngine
from bot.forms.callbacks import encode
from bot.forms.model import Outcome, Status, label_text

__all__ = ["BUTTON_RE", "OutFile", "Reply", "answer", "outcome_reply", "with_values"]

# A pressed button comes back as the user's message "<label> [<codec data>]".
BUTTON_RE = re.compile(r"^(?P<label>.*?)\s*\[(?P<data>[A-Za-z]{1,4}:[^\[\]\s]*)\]$", re.S)


@dataclass(frozen=True)
class OutFile:
    """A file or picture sent after the reply's text (uploaded to DingTalk's media store)."""

    name: str
    data: bytes
    as_photo: bool = False  # shown in the chat (sampleImageMsg), not a file to open


@dataclass
class Reply:
    html: Html  # catalog output; rendered for DingTalk once, when sent (empty: files only)
    buttons: tuple[tuple[str, str], ...] = ()  # (label, answer the button sends back)
    told_others: bool = False  # the change may have planned notices (the outbox sends them)
    files: tuple[OutFile, ...] = ()  # sent after the text, in order


def answer(label: str, data: str) -> tuple[str, str]:
    """One button: its label and the answer it sends back."""
    return label, f"{label} [{data}]"


def with_values(
    html: Html, rows: Sequence[Sequence[tuple[str, Any]]], told_others: bool = False
) -> Reply:
    """``html`` with rows of ``(label, typed button value)`` (bot/rendering), encoded."""
    buttons = tuple(answer(label, encode(value)) for row in rows for label, value in row)
    return Reply(html, buttons, told_others)


def outcome_reply(engine: FormEngine, outcome: Outcome, locale: str) -> Reply:
    """An engine form's turn: the question with its buttons, or what the closed form said
    (with its links, e.g. the lead's card after a stage note)."""
    buttons: list[tuple[str, str]] = []
    if outcome.view is not None:
        for row in outcome.view.rows:
            for button in row:
                label = label_text(button.label, locale)
                buttons.append(answer(label, engine.encode(button.value)))
    for link in outcome.links:
        buttons.append(answer(label_text(link.label, locale), encode(link.value)))
    # A closed form may have saved something others are told about (a head's request).
    return Reply(outcome.text(locale), tuple(buttons), outcome.status is Status.CLOSED)
