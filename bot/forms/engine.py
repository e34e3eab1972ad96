"""The form engine: start a form, feed it answers, get the step view, save.

Every call takes a :class:`~bot.forms.model.FormContext` (open session, services,
actor, person, clock time, locale), reads the person's draft from the database,
moves it on and writes it back in the same session; the caller commits (leaves
``db.session()``) and only then renders the returned :class:`Outcome`, so the
step's state is durable before the next question is sent. Expiry (by the
injected clock) and "one form at a time" (one draft row per person) live here.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.forms import store
from bot.forms.callbacks import CODEC, Codec
from bot.forms.model import (
    ACTIONS,
    DONE,
    PICK,
    SKIP,
    SUMMARY,
    Act,
    Answer,
    Button,
    Choose,
    Draft,
    Edit,
    FieldError,
    FileRef,
    Form,
    FormContext,
    Kind,
    Link,
    Msg,
    Option,
    Outcome,
    Status,
    Step,
    StepView,
    Turn,
)
from bot.services import ServiceError


@dataclass(frozen=True)
class Idle:
    """A draft the sweep closed: tell its owner."""

    person: str
    form: str
    said: Msg


class FormEngine:
    def __init__(self, forms: Iterable[Form], timeout: timedelta, codec: Codec = CODEC) -> None:
        self.forms: dict[str, Form] = {}
        self.timeout = timeout
        self.codec = codec
        for form in forms:
            self.add(form)

    def add(self, form: Form) -> None:
        if form.name in self.forms:
            raise ValueError(f"form {form.name!r} added twice")
        self.forms[form.name] = form
        if f"{form.prefix}p" not in self.codec.prefixes():
            self.codec.register(f"{form.prefix}p", Choose, form=form.name)
            self.codec.register(f"{form.prefix}s", Act, form=form.name)
            self.codec.register(f"{form.prefix}e", Edit, form=form.name)

    # --- public API ------------------------------------------------------------------

    async def start(
        self,
        ctx: FormContext,
        name: str,
        values: dict[str, Any] | None = None,
        note: Msg | None = None,
        scratch: dict[str, Any] | None = None,
    ) -> Outcome:
        """Open ``name`` for ``ctx.person``; any form they had open is dropped (a
        ``stacks`` form keeps it, to give it back).

        ``values`` prefill the draft before ``begin`` runs (a button that opens the
        form about one thing: the record to reject, a planned trip); the first
        question is then the first step that applies and has no value yet, unless
        ``begin`` moved ``draft.step`` elsewhere. ``note`` is said instead of the
        form's intro. ``scratch`` seeds the draft's working data (what the form is
        about: a version id).
        """
        form = self.forms[name]
        draft = Draft(
            form=name,
            step=form.steps[0].name,
            values=dict(values or {}),
            scratch=dict(scratch or {}),
            touched=ctx.now.isoformat(),
        )
        if form.nonce:
            draft.scratch[NONCE] = secrets.token_hex(3)
        if form.begin is not None:
            refusal = await form.begin(ctx, draft)
            if refusal is not None:
                return Outcome(Status.CLOSED, said=(refusal,))
        if form.stacks:
            under = await self._under(ctx)
            if under is not None:
                draft.scratch[UNDER] = under
        intro = note if note is not None else (form.intro(ctx) if form.intro else None)
        notes = [intro] if intro else []
        if form.notes is not None:
            notes.extend(form.notes(ctx, draft))
        if draft.step != form.steps[0].name:  # begin chose where to start
            first = form.step(draft.step)
        else:
            first = next(
                (
                    s
                    for s in form.steps
                    if s.applies(draft) and (values is None or s.key not in draft.values)
                ),
                None,
            )
        if first is None:
            view = self._summary(ctx, form, draft, notes)
        else:
            view = self._ask(ctx, form, draft, first, notes)
        await store.replace(ctx.session, ctx.person, draft, ctx.now)
        return Outcome(Status.SHOWN, view)

    async def leave(self, ctx: FormContext) -> bool:
        """Another command while a ``stacks`` form waits: close it without a word (the
        form it was opened over comes back). False when the open form does not stack."""
        stored = await store.load(ctx.session, ctx.person)
        form = self.forms.get(stored.draft.form) if stored else None
        if stored is None or form is None or not form.stacks:
            return False
        await self._close(ctx, stored.draft)
        return True

    async def active(self, ctx: FormContext) -> str | None:
        """The name of the form this person has open (expired or not), if any."""
        stored = await store.load(ctx.session, ctx.person)
        return stored.draft.form if stored else None

    async def keeps_bytes(self, ctx: FormContext) -> bool:
        """Whether the open form waits for files at a step that keeps their bytes
        (:attr:`Step.keeps_bytes`), so the adapter fetches a file before handing it in."""
        stored = await store.load(ctx.session, ctx.person)
        form = self.forms.get(stored.draft.form) if stored else None
        step = form.step(stored.draft.step) if form and stored else None
        return step is not None and step.kind is Kind.FILES and step.keeps_bytes

    async def view(self, ctx: FormContext) -> Outcome:
        """The current question again (e.g. after "/report" in a group, or a web page load)."""
        return await self._with_draft(ctx, lambda form, draft: self._current(ctx, form, draft))

    async def text(self, ctx: FormContext, text: str) -> Outcome:
        async def go(form: Form, draft: Draft) -> Outcome:
            step = form.step(draft.step)
            if step is None:  # summary or picker: buttons only
                return Outcome(
                    Status.SHOWN, self._current(ctx, form, draft, [form.text("pick_button")])
                )
            if step.handle is not None:
                return await self._handled(ctx, form, draft, step, Answer(text=text))
            try:
                value = self._parse(ctx, form, draft, step, text)
            except FieldError as err:
                return Outcome(
                    Status.SHOWN, self._ask(ctx, form, draft, step, [Msg(err.code, err.params)])
                )
            draft.values[step.key] = value
            return await self._answered(ctx, form, draft, step, [])

        return await self._with_draft(ctx, go)

    async def file(self, ctx: FormContext, ref: FileRef) -> Outcome:
        async def go(form: Form, draft: Draft) -> Outcome:
            step = form.step(draft.step)
            if step is None or step.kind is not Kind.FILES:
                return self._not_text(ctx, form, draft)
            files = list(draft.values.get(step.key) or [])
            if len(files) >= step.max_files:
                note = form.text("too_many_files", limit=step.max_files)
            else:
                files.append(ref.as_json())
                draft.values[step.key] = files
                note = form.text("file_added", count=len(files))
            return Outcome(Status.SHOWN, self._ask(ctx, form, draft, step, [note]))

        return await self._with_draft(ctx, go)

    async def other(self, ctx: FormContext) -> Outcome:
        """A sticker, voice, … where the step wants text: explain, ask again."""
        return await self._with_draft(ctx, lambda form, draft: self._not_text(ctx, form, draft))

    async def press(self, ctx: FormContext, value: Any) -> Outcome:
        """A button: a decoded :class:`Choose` / :class:`Act` / :class:`Edit` (or STALE)."""
        if not isinstance(value, Choose | Act | Edit):
            stored = await self._live(ctx)
            return stored if isinstance(stored, Outcome) else Outcome(Status.STALE)

        async def go(form: Form, draft: Draft) -> Outcome:
            if form.name != value.form:
                return Outcome(Status.STALE)
            pressed: Choose | Act | Edit | None = value
            if form.nonce:  # a button of an earlier draft of this form is stale
                pressed = _unsealed(draft, value)
            if pressed is None:
                return Outcome(Status.STALE)
            if isinstance(pressed, Choose):
                return await self._choose(ctx, form, draft, pressed)
            if isinstance(pressed, Act):
                return await self._act(ctx, form, draft, pressed.action)
            return self._edit(ctx, form, draft, pressed.step)

        outcome = await self._with_draft(ctx, go, touch_on_stale=False)
        owner = self.forms.get(value.form)
        if outcome.status is Status.NONE and owner is not None and owner.gone is not None:
            note = owner.gone(value)
            if note is not None:
                return Outcome(Status.STALE, said=(note,))
        return outcome

    async def cancel(self, ctx: FormContext) -> Outcome:
        stored = await store.load(ctx.session, ctx.person)
        if stored is None:
            return Outcome(Status.NONE)
        await self._close(ctx, stored.draft)
        form = self.forms.get(stored.draft.form)
        return Outcome(Status.CLOSED, said=(form.text("cancelled"),) if form else ())

    async def sweep(self, session: Any, now: datetime) -> list[Idle]:
        """Close every draft idle longer than the timeout (a scheduled job)."""
        closed = await store.take_idle(session, now - self.timeout)
        return [
            Idle(person, form, self.forms[form].text("expired"))
            for person, form in closed
            if form in self.forms
        ]

    def encode(self, value: Choose | Act | Edit) -> str:
        return self.codec.encode(value)

    def owns(self, data: str | None) -> bool:
        """Whether button data belongs to one of this engine's forms (it may still be stale)."""
        value = self.codec.decode(data)
        if isinstance(value, Choose | Act | Edit):
            return value.form in self.forms
        prefixes = {f"{f.prefix}{k}" for f in self.forms.values() for k in "pse"}
        return data is not None and data.split(":", 1)[0] in prefixes  # stale, but ours

    # --- the draft's life ------------------------------------------------------------

    async def _live(self, ctx: FormContext) -> tuple[Form, Draft, int] | Outcome:
        stored = await store.load(ctx.session, ctx.person)
        if stored is None or stored.draft.form not in self.forms:
            return Outcome(Status.NONE)
        form = self.forms[stored.draft.form]
        if ctx.now - stored.touched_at > self.timeout:
            await store.drop(ctx.session, ctx.person)
            return Outcome(Status.EXPIRED, said=(form.text("expired"),))
        return form, stored.draft, stored.version

    async def _with_draft(
        self, ctx: FormContext, go: Any, *, touch_on_stale: bool = True
    ) -> Outcome:
        live = await self._live(ctx)
        if isinstance(live, Outcome):
            return live
        form, draft, version = live
        outcome = go(form, draft)
        if hasattr(outcome, "__await__"):
            outcome = await outcome
        if isinstance(outcome, StepView):
            outcome = Outcome(Status.SHOWN, outcome)
        if outcome.status is Status.STALE and not touch_on_stale:
            return outcome
        if outcome.status is Status.CLOSED:
            await self._close(ctx, draft)
        else:
            draft.touched = ctx.now.isoformat()
            await store.write(ctx.session, ctx.person, draft, ctx.now, version)
        return outcome

    async def _under(self, ctx: FormContext) -> dict[str, Any] | None:
        """The live draft a ``stacks`` form is opened over (JSON), to give back later."""
        stored = await store.load(ctx.session, ctx.person)
        if stored is None or stored.draft.form not in self.forms:
            return None
        if ctx.now - stored.touched_at > self.timeout:
            return None
        if self.forms[stored.draft.form].stacks:  # a prompt over a prompt: keep the one below
            under = stored.draft.scratch.get(UNDER)
            return dict(under) if isinstance(under, dict) else None
        return stored.draft.to_json()

    async def _close(self, ctx: FormContext, draft: Draft) -> None:
        """The form ended: its draft goes; the form it was opened over comes back."""
        await store.drop(ctx.session, ctx.person)
        under = draft.scratch.get(UNDER)
        if isinstance(under, dict):
            try:
                below = Draft.from_json(under)
            except (KeyError, TypeError, ValueError):
                return
            below.touched = ctx.now.isoformat()
            await store.replace(ctx.session, ctx.person, below, ctx.now)

    # --- answering -----------------------------------------------------------------------

    def _parse(self, ctx: FormContext, form: Form, draft: Draft, step: Step, text: str) -> Any:
        if step.kind is Kind.CHOICE:
            typed = text.strip()
            for option in self._options(ctx, draft, step):
                if isinstance(option.label, str) and option.label == typed:
                    return option.value
            if step.parse is not None:  # a choice that may also be typed (a date: 今天 or 11月20日)
                return step.parse(text, ctx)
            raise FieldError(f"{form.catalog}.pick_button")
        if step.kind is Kind.MULTI and step.parse is None:  # with a parser: typed text too
            raise FieldError(f"{form.catalog}.pick_button")
        if step.kind is Kind.FILES:
            raise FieldError(f"{form.catalog}.send_file")
        assert step.parse is not None, f"text step {step.name} has no parser"
        return step.parse(text, ctx)

    async def _choose(self, ctx: FormContext, form: Form, draft: Draft, value: Choose) -> Outcome:
        step = form.step(value.step)
        if step is None or draft.step != step.name:
            return Outcome(Status.STALE)
        if step.handle is not None:
            return await self._handled(ctx, form, draft, step, Answer(key=value.key))
        if value.key == SKIP and step.optional:
            draft.values[step.key] = [] if step.kind in (Kind.MULTI, Kind.FILES) else None
            return await self._answered(ctx, form, draft, step, [])
        if value.key == DONE and step.kind in (Kind.MULTI, Kind.FILES):
            if len(draft.values.get(step.key) or []) < step.min_files:
                return Outcome(Status.STALE)  # "done" was not offered yet
            draft.values.setdefault(step.key, [])
            return await self._answered(ctx, form, draft, step, [])
        options = self._options(ctx, draft, step)
        option = next((o for o in options if o.key == value.key), None)
        if option is None:
            return Outcome(
                Status.SHOWN, self._ask(ctx, form, draft, step, [Msg("fallback.stale_button")])
            )
        if step.kind is Kind.MULTI:
            chosen = set(draft.values.get(step.key) or [])
            chosen.symmetric_difference_update({option.value})
            draft.values[step.key] = [o.value for o in options if o.value in chosen]
            return Outcome(Status.SHOWN, self._ask(ctx, form, draft, step, []), replace=True)
        draft.values[step.key] = option.value
        return await self._answered(ctx, form, draft, step, [option.note] if option.note else [])

    async def _answered(
        self, ctx: FormContext, form: Form, draft: Draft, step: Step, notes: list[Msg]
    ) -> Outcome:
        """After a valid answer: the step's hook, then a follow-up, the summary when
        editing, or the next question."""
        if step.after is not None:
            note = await step.after(ctx, draft)
            if note is not None:
                notes = [*notes, note]
        nxt = self._next(form, draft, step)
        if nxt is not None and (nxt.follows or not draft.editing):
            return Outcome(Status.SHOWN, self._ask(ctx, form, draft, nxt, notes))
        if not form.confirm:
            return await self._save(ctx, form, draft, notes)
        draft.editing = False
        return Outcome(Status.SHOWN, self._summary(ctx, form, draft, notes))

    async def _save(self, ctx: FormContext, form: Form, draft: Draft, notes: list[Msg]) -> Outcome:
        """A prompt without a summary (``confirm=False``): save now; a refusal closes it
        with the reason, or, when ``ask_again`` says typing can fix it, asks the question
        again under it."""
        try:
            said = await form.save(ctx, draft)
        except ServiceError as err:
            step = form.step(draft.step)
            if form.ask_again is not None and step is not None and form.ask_again(err):
                return Outcome(
                    Status.SHOWN,
                    self._ask(ctx, form, draft, step, [*notes, Msg(err.code, err.params)]),
                )
            return Outcome(Status.CLOSED, said=(*notes, Msg(err.code, err.params)))
        return Outcome(Status.CLOSED, said=(*notes, *said), links=self._links(ctx, form, draft))

    async def _handled(
        self, ctx: FormContext, form: Form, draft: Draft, step: Step, answer: Answer
    ) -> Outcome:
        """A step with its own handler: it says where to go next (see :class:`Turn`)."""
        assert step.handle is not None
        try:
            turn: Turn = await step.handle(ctx, draft, answer)
        except FieldError as err:
            return Outcome(
                Status.SHOWN, self._ask(ctx, form, draft, step, [Msg(err.code, err.params)])
            )
        if turn.close is not None:
            return Outcome(Status.CLOSED, said=turn.close)
        if turn.save:
            return await self._finish(ctx, form, draft)
        nxt = form.step(turn.goto) if turn.goto else self._next(form, draft, step)
        if nxt is None:
            draft.editing = False
            if not form.confirm:
                return await self._save(ctx, form, draft, list(turn.notes))
            return Outcome(Status.SHOWN, self._summary(ctx, form, draft, list(turn.notes)))
        view = self._ask(ctx, form, draft, nxt, list(turn.notes))
        return Outcome(Status.SHOWN, view, keys_only=turn.keys_only)

    def _next(self, form: Form, draft: Draft, step: Step) -> Step | None:
        index = form.steps.index(step) + 1
        for candidate in form.steps[index:]:
            if candidate.applies(draft):
                return candidate
        return None

    async def _act(self, ctx: FormContext, form: Form, draft: Draft, action: str) -> Outcome:
        if action == "cancel" and form.cancel_button:  # the button under every question
            return Outcome(Status.CLOSED, said=(form.text("cancelled"),))
        if action not in ACTIONS or draft.step not in (SUMMARY, PICK):
            return Outcome(Status.STALE)
        if action == "cancel":
            return Outcome(Status.CLOSED, said=(form.text("cancelled"),))
        if action == "edit":
            draft.step = PICK
            buttons = [
                Button(form.text(f"field.{s.name}"), Edit(form.name, s.name))
                for s in form.counted
                if s.applies(draft)
            ]
            return Outcome(
                Status.SHOWN,
                self._view(form, PICK, [], [form.text("pick_field")], _rows(buttons, 3)),
            )
        missing = [
            s
            for s in form.counted
            if s.applies(draft) and not s.optional and self._empty(s, draft.values.get(s.key))
        ]
        if missing:
            return Outcome(
                Status.SHOWN, self._ask(ctx, form, draft, missing[0], [form.text("missing")])
            )
        return await self._finish(ctx, form, draft)

    async def _finish(self, ctx: FormContext, form: Form, draft: Draft) -> Outcome:
        """Run the form's save; a ServiceError is shown above the summary (or above the
        step the draft is at, for a form that saves from a step of its own)."""
        try:
            said = await form.save(ctx, draft)
        except ServiceError as err:
            note = [Msg(err.code, err.params)]
            step = form.step(draft.step)
            view = (
                self._ask(ctx, form, draft, step, note)
                if step is not None
                else self._summary(ctx, form, draft, note)
            )
            return Outcome(Status.SHOWN, view)
        return Outcome(Status.CLOSED, said=tuple(said), links=self._links(ctx, form, draft))

    def _links(self, ctx: FormContext, form: Form, draft: Draft) -> tuple[Link, ...]:
        return tuple(form.links(ctx, draft)) if form.links is not None else ()

    @staticmethod
    def _empty(step: Step, value: Any) -> bool:
        if value in (None, "", []):
            return True
        return step.kind is Kind.FILES and len(value) < step.min_files

    def _edit(self, ctx: FormContext, form: Form, draft: Draft, name: str) -> Outcome:
        step = form.step(name)
        if draft.step != PICK or step is None or not step.counted or not step.applies(draft):
            return Outcome(Status.STALE)
        draft.editing = True
        return Outcome(Status.SHOWN, self._ask(ctx, form, draft, step, []))

    def _not_text(self, ctx: FormContext, form: Form, draft: Draft) -> Outcome:
        return Outcome(Status.SHOWN, self._current(ctx, form, draft, [form.text("text_expected")]))

    # --- views ---------------------------------------------------------------------------

    def _current(
        self, ctx: FormContext, form: Form, draft: Draft, notes: list[Msg] | None = None
    ) -> StepView:
        step = form.step(draft.step)
        if step is not None:
            return self._ask(ctx, form, draft, step, notes or [])
        if draft.step == PICK:
            draft.step = SUMMARY
        return self._summary(ctx, form, draft, notes or [])

    def _options(self, ctx: FormContext, draft: Draft, step: Step) -> list[Option]:
        return list(step.choices(ctx, draft)) if step.choices else []

    def _ask(
        self, ctx: FormContext, form: Form, draft: Draft, step: Step, notes: list[Msg]
    ) -> StepView:
        draft.step = step.name
        if step.ask is not None:
            lines = list(step.ask(ctx, draft))
        else:
            counted = [s for s in form.counted if s.applies(draft)]  # the draft's own questions
            number = counted.index(step) + 1 if step in counted else 0
            lines = [
                form.text("progress", n=number, total=len(counted)),
                form.text(f"ask.{step.name}"),
            ]
        buttons: list[Button] = []
        if step.rows is not None:  # a step with buttons of its own: exactly these rows
            rows = [
                tuple(Button(label, Choose(form.name, step.name, key)) for label, key in row)
                for row in step.rows(ctx, draft)
            ]
            return StepView(
                form.name,
                step.name,
                tuple(notes),
                tuple(lines),
                tuple(r for r in rows if r),
                frozenset({"text"}),
                optional=step.optional,
            )
        if step.kind in (Kind.CHOICE, Kind.MULTI):
            chosen = set(draft.values.get(step.key) or []) if step.kind is Kind.MULTI else set()
            for option in self._options(ctx, draft, step):
                label = option.label
                if step.kind is Kind.MULTI and option.value in chosen:  # values may be lists
                    label = "✅ " + (label if isinstance(label, str) else label.plain(ctx.locale))
                buttons.append(Button(label, Choose(form.name, step.name, option.key)))
        rows = _rows(buttons, step.columns)
        tail = []
        if step.kind is Kind.MULTI or (
            step.kind is Kind.FILES and len(draft.values.get(step.key) or []) >= step.min_files
        ):
            tail.append(Button(form.text("done"), Choose(form.name, step.name, DONE)))
        if step.optional:
            tail.append(Button(form.text("skip"), Choose(form.name, step.name, SKIP)))
        if form.cancel_button:
            tail.append(Button(form.text("cancel"), Act(form.name, "cancel")))
        if tail:
            rows.append(tuple(tail))
        if form.nonce:
            rows = [tuple(_sealed(draft, b) for b in row) for row in rows]
        accepts = {"text"} if step.kind in (Kind.TEXT, Kind.CHOICE) else set()
        if step.kind is Kind.FILES:
            accepts.add("file")
        return StepView(
            form.name,
            step.name,
            tuple(notes),
            tuple(lines),
            tuple(rows),
            frozenset(accepts),
            multi=step.kind is Kind.MULTI,
            optional=step.optional,
        )

    def _summary(self, ctx: FormContext, form: Form, draft: Draft, notes: list[Msg]) -> StepView:
        draft.step = SUMMARY
        lines = [form.text("summary_title")]
        for s in form.counted:
            if not s.applies(draft):
                continue
            value = draft.values.get(s.key)
            if value in (None, "", []):
                shown = form.text("none").plain(ctx.locale)
            elif form.display is not None:
                shown = form.display(ctx, s.key, value)
            else:
                shown = str(value)
            lines.append(form.text("summary_line", label=form.text(f"field.{s.name}"), value=shown))
        if form.summary_extra is not None:
            lines.extend(form.summary_extra(draft))
        row = tuple(Button(form.text(a), Act(form.name, a)) for a in ACTIONS)
        return self._view(form, SUMMARY, notes, lines, [row])

    def _view(
        self,
        form: Form,
        step: str,
        notes: list[Msg],
        lines: list[Msg],
        rows: list[tuple[Button, ...]],
    ) -> StepView:
        return StepView(form.name, step, tuple(notes), tuple(lines), tuple(rows), frozenset())


NONCE, UNDER = "_nonce", "_under"  # scratch keys of the engine's own (``Form.nonce``, ``.stacks``)


def _sealed(draft: Draft, button: Button) -> Button:
    """The button's key (or action) with the draft's nonce: ``3.a1b2c3``."""
    nonce = str(draft.scratch.get(NONCE, ""))
    value = button.value
    if isinstance(value, Choose):
        return Button(button.label, Choose(value.form, value.step, f"{value.key}.{nonce}"))
    if isinstance(value, Act):
        return Button(button.label, Act(value.form, f"{value.action}.{nonce}"))
    return Button(button.label, Edit(value.form, f"{value.step}.{nonce}"))


def _unsealed(draft: Draft, value: Choose | Act | Edit) -> Choose | Act | Edit | None:
    """The button's plain value, or None when it carries another draft's nonce."""
    nonce = str(draft.scratch.get(NONCE, ""))
    part = (
        value.key
        if isinstance(value, Choose)
        else (value.action if isinstance(value, Act) else value.step)
    )
    bare, dot, seal = part.rpartition(".")
    if not dot or not nonce or seal != nonce:
        return None
    if isinstance(value, Choose):
        return Choose(value.form, value.step, bare)
    if isinstance(value, Act):
        return Act(value.form, bare)
    return Edit(value.form, bare)


def _rows(buttons: list[Button], columns: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]
