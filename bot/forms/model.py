"""What a form is made of: steps, options, the draft, and the views an adapter renders.

Everything here is plain data (frozen dataclasses and JSON values), free of any
messaging platform, so Telegram, DingTalk and a web page render the same form.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot import catalog
from bot.catalog import Html
from bot.domain.leadfields import FieldError as FieldError  # a parser refuses text (re-exported)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.services import ServiceError
    from bot.services.access import Actor


# --- texts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Msg:
    """A catalog key and its values; a value that is itself a :class:`Msg` is rendered
    as a plain label first (``report.summary_line`` takes ``label=Msg("report.field.amount")``)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def html(self, locale: str) -> Html:
        return catalog.t(self.key, locale, **_resolved(self.params, locale))

    def plain(self, locale: str) -> str:
        return catalog.plain(self.key, locale, **_resolved(self.params, locale))


def msg(key: str, /, **params: Any) -> Msg:
    return Msg(key, params)


def _resolved(params: dict[str, Any], locale: str) -> dict[str, Any]:
    return {k: v.plain(locale) if isinstance(v, Msg) else v for k, v in params.items()}


Label = Msg | str  # a button label: a catalog text, or a value shown as it is (an industry name)


def label_text(label: Label, locale: str) -> str:
    return label.plain(locale) if isinstance(label, Msg) else label


# --- button values (encoded by bot.forms.callbacks) ----------------------------------------


@dataclass(frozen=True)
class Choose:
    """A choice button of a step (``key`` is the option's key, or ``skip`` / ``done``)."""

    form: str
    step: str
    key: str


@dataclass(frozen=True)
class Act:
    """A summary button: ``save``, ``edit`` or ``cancel``."""

    form: str
    action: str


@dataclass(frozen=True)
class Edit:
    """A field button of the "which field?" picker."""

    form: str
    step: str


SKIP, DONE = "skip", "done"
ACTIONS = ("save", "edit", "cancel")
SUMMARY, PICK = "_summary", "_pick"


# --- the runtime a step is given -----------------------------------------------------------


@dataclass
class FormContext:
    """What parsers, choice providers, hooks and savers are given: the open
    session (the draft is written in the same transaction), the services (settings,
    directory, clock), who is filling in the form, and when."""

    session: AsyncSession
    services: Any  # bot.services.Services (kept Any: no import cycle with the services)
    actor: Actor
    person: str  # "tg:1101" -- the draft's owner, channel-qualified
    now: datetime
    locale: str
    key: str = ""  # the update being handled: a notice a save plans is keyed by it (once)

    @property
    def settings(self) -> Any:
        return self.services.settings


# --- steps and forms -------------------------------------------------------------------------


class Kind(enum.StrEnum):
    TEXT = "text"  # typed text, through ``parse``
    CHOICE = "choice"  # one option (typing an option's exact label is forgiven)
    MULTI = "multi"  # toggle options, then "done"
    FILES = "files"  # documents / photos, then "done"


@dataclass(frozen=True)
class Option:
    key: str  # on the button (short: an index, an id)
    label: Label
    value: Any  # what the field gets (JSON)
    note: Msg | None = None  # said before the next question when picked


@dataclass(frozen=True)
class FileRef:
    """A file someone sent: the channel's handle, its kind and name."""

    file_id: str
    kind: str  # document | photo
    name: str = ""

    def as_json(self) -> dict[str, str]:
        return {"file_id": self.file_id, "kind": self.kind, "name": self.name}


@dataclass(frozen=True)
class Answer:
    """What reached a step with its own handler (:attr:`Step.handle`): typed ``text``,
    or the ``key`` of one of its buttons (:attr:`Step.rows`)."""

    text: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Turn:
    """What a step's handler decided. ``goto`` names the step to ask next (the step
    itself: a loop over a list kept in the draft; None: the next step in order, or the
    summary); ``notes`` are said above it; ``keys_only`` says only the buttons changed
    (redraw the pressed message's keyboard); ``save`` runs the form's ``save`` (the
    form's own "submit" button); ``close`` ends the form, saying these."""

    goto: str | None = None
    notes: tuple[Msg, ...] = ()
    keys_only: bool = False
    save: bool = False
    close: tuple[Msg, ...] | None = None


Parser = Callable[[str, FormContext], Any]
Choices = Callable[[FormContext, "Draft"], Sequence[Option]]
Hook = Callable[[FormContext, "Draft"], Awaitable[Msg | None]]
Asker = Callable[[FormContext, "Draft"], Sequence[Msg]]
Handler = Callable[[FormContext, "Draft", Answer], Awaitable[Turn]]
Rows = Callable[[FormContext, "Draft"], Sequence[Sequence[tuple[Label, str]]]]


@dataclass(frozen=True)
class Step:
    name: str
    kind: Kind = Kind.TEXT
    parse: Parser | None = None  # a MULTI step with one takes typed text as well as toggles
    choices: Choices | None = None
    optional: bool = False
    field: str = ""  # the draft value it fills; defaults to ``name``
    counted: bool = True  # numbered ("3/13"), summarised and editable
    when: Callable[[Draft], bool] | None = None  # asked only when true
    follows: bool = False  # a follow-up of the step before (asked even when editing)
    after: Hook | None = None  # after a valid answer; may return a note
    ask: Asker | None = None  # the question's lines (default: progress + ``<texts>.ask.<name>``)
    columns: int = 3
    max_files: int = 10
    min_files: int = 0  # a FILES step offers "done" only once this many files are in
    # A FILES step whose files must outlive the channel's handle to them (a DingTalk
    # downloadCode lapses): the adapter fetches the bytes and keeps them before answering.
    keeps_bytes: bool = False
    # A step that runs itself (a list built over several answers, buttons of its own):
    # ``handle`` gets every typed text and every press of its buttons and says where
    # to go (a FieldError it raises is shown and the step asked again); ``rows`` are
    # its buttons as (label, key), each pressed as ``Choose(form, step, key)``.
    handle: Handler | None = None
    rows: Rows | None = None

    def applies(self, draft: Draft) -> bool:
        """Whether the step is part of this draft's form (its ``when``, if any)."""
        return self.when is None or self.when(draft)

    @property
    def key(self) -> str:
        return self.field or self.name


Saver = Callable[[FormContext, "Draft"], Awaitable[Sequence[Msg]]]
Begin = Callable[[FormContext, "Draft"], Awaitable[Msg | None]]
Display = Callable[[FormContext, str, Any], str]


@dataclass(frozen=True)
class Form:
    """A form is data: its steps and what to do at the start and on save.

    ``texts`` is the catalog prefix of its messages (``<texts>.progress``,
    ``.ask.<step>``, ``.skip``, ``.done``, ``.summary_title``, ``.summary_line``,
    ``.field.<step>``, ``.save``, ``.edit``, ``.cancel``, ``.pick_field``,
    ``.missing``, ``.pick_button``, ``.send_file``, ``.text_expected``,
    ``.too_many_files``, ``.file_added``, ``.expired``, ``.cancelled``, ``.none``).
    ``begin`` may refuse (return the refusal) or fill the draft (start arguments
    are in ``draft.scratch``); ``save`` performs the service call and returns what
    to say; a :class:`bot.services.ServiceError` it raises is shown above the
    summary. A form with ``confirm=False`` (a one-question prompt) has no summary:
    it saves after its last answer, and a refusal of the service closes it with the
    reason -- unless ``ask_again`` says the person can fix it by typing something
    else: then the question is asked again under the refusal and the form stays.
    ``stacks=True`` keeps the form it was opened over (a lead prompt during
    /report) and gives it back when it closes; another command leaves it
    (:meth:`bot.forms.engine.FormEngine.leave`).
    """

    name: str
    prefix: str  # one letter: buttons are "<prefix>p", "<prefix>s", "<prefix>e"
    steps: tuple[Step, ...]
    save: Saver
    begin: Begin | None = None
    display: Display | None = None  # a value as the summary shows it
    summary_extra: Callable[[Draft], Sequence[Msg]] | None = None
    texts: str = ""
    intro: Callable[[FormContext], Msg | None] | None = None
    confirm: bool = True  # False: saved as soon as the last step is answered (no summary)
    # Notes above the first question, read after ``begin`` (which may put what they
    # say in the draft's scratch, and may set ``draft.step`` to start elsewhere).
    notes: Callable[[FormContext, Draft], Sequence[Msg]] | None = None
    # What to say for a button of this form pressed when no draft is open (e.g. a
    # second press of a "submit" button): the popup instead of "expired button".
    gone: Callable[[Choose | Act | Edit], Msg | None] | None = None
    # A one-question prompt (the lead prompts) sets these; /report keeps the defaults.
    ask_again: Callable[[ServiceError], bool] | None = None  # confirm=False: refusals to retype
    cancel_button: bool = False  # every question has a cancel button (``<texts>.cancel``)
    nonce: bool = False  # buttons carry the draft's nonce: an earlier draft's button is stale
    stacks: bool = False  # opened over another form: that one is kept and given back after
    links: Callable[[FormContext, Draft], Sequence[Link]] | None = None  # under what save says

    @property
    def catalog(self) -> str:
        return self.texts or self.name

    def text(self, suffix: str, /, **params: Any) -> Msg:
        return Msg(f"{self.catalog}.{suffix}", params)

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    @property
    def counted(self) -> list[Step]:
        return [s for s in self.steps if s.counted]


# --- the draft -------------------------------------------------------------------------------


@dataclass
class Draft:
    """A form in progress: JSON all the way down (``to_json`` / ``from_json``)."""

    form: str
    step: str
    values: dict[str, Any] = field(default_factory=dict)
    scratch: dict[str, Any] = field(default_factory=dict)  # a step's working data (candidates …)
    editing: bool = False
    touched: str = ""  # ISO time of the last answer, by the injected clock

    def to_json(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "step": self.step,
            "values": self.values,
            "scratch": self.scratch,
            "editing": self.editing,
            "touched": self.touched,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(
            form=str(data["form"]),
            step=str(data["step"]),
            values=dict(data.get("values") or {}),
            scratch=dict(data.get("scratch") or {}),
            editing=bool(data.get("editing")),
            touched=str(data.get("touched") or ""),
        )


# --- what an adapter renders -------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    label: Label
    value: Choose | Act | Edit


@dataclass(frozen=True)
class Link:
    """A button under what a saved form says: a feature's own button value (the lead's
    card, :class:`bot.forms.buttons.LeadCard`), encoded by the one codec."""

    label: Label
    value: Any


@dataclass(frozen=True)
class StepView:
    """One question (or the summary, or the field picker) as an adapter shows it.

    The text is ``notes`` (each a paragraph) then ``lines`` (one per line); the
    buttons come in ``rows``. ``accepts`` says what else the step takes: typed
    ``text`` and/or a ``file``. ``multi`` marks a multi-select whose toggles
    should redraw the same message (``replace`` on the outcome says when).
    """

    form: str
    step: str
    notes: tuple[Msg, ...]
    lines: tuple[Msg, ...]
    rows: tuple[tuple[Button, ...], ...]
    accepts: frozenset[str]
    multi: bool = False
    optional: bool = False

    def html(self, locale: str) -> Html:
        body = Html("\n".join(m.html(locale) for m in self.lines))
        if not self.notes:
            return body
        return Html("\n\n".join([*(n.html(locale) for n in self.notes), body]))


class Status(enum.StrEnum):
    SHOWN = "shown"  # show ``view``
    CLOSED = "closed"  # the form ended (saved, cancelled, refused): say ``said``
    EXPIRED = "expired"  # the draft timed out: say ``said``
    STALE = "stale"  # a button of an older question: the "expired button" popup, nothing else
    NONE = "none"  # this person has no form (or another form has the floor)


@dataclass(frozen=True)
class Outcome:
    status: Status
    view: StepView | None = None
    said: tuple[Msg, ...] = ()
    replace: bool = False  # redraw the message the button was on (multi-select toggles)
    keys_only: bool = False  # redraw only the keyboard of the message the button was on
    links: tuple[Link, ...] = ()  # CLOSED after a save: the form's ``links``

    def text(self, locale: str) -> Html:
        if self.view is not None:
            return self.view.html(locale)
        return Html("\n\n".join(m.html(locale) for m in self.said))
