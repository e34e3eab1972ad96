"""``/activity`` as data: a work activity (工作记录), and the leader's reject reason.

Steps: [unit -- leaders only] → kind → date ([今天] [昨天], or typed 2026-11-20 /
11月20日) → short text → amount (foreign capital, USD) → lead (optional, for kinds
about a project) → files (the trip report 外出报告单 is required for a trip, other
kinds may add photos) → summary [保存]. Which of amount / lead / trip report apply
is the kind's business (:func:`bot.services.activities.kinds_for`); the kind step
notes it in the draft's scratch, and the steps' ``when`` read it.

A planned trip of an accepted weekly submission (``/trips``) opens the same form
with kind, unit and text filled in (``engine.start(..., values=trip_values(...))``):
it asks for the date and the trip report only.

:func:`reject_form` is the one-question form behind [❌ 驳回]: the reason, then the
rejection is saved at once (no summary) and the unit is told through the notifier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bot.domain.enums import lead_code
from bot.forms.model import Draft, FieldError, Form, FormContext, Kind, Msg, Option, Step, msg
from bot.services import ServiceError, activities, attachments
from bot.services.activities import ActivityDraft
from bot.services.leads import parse_code as parse_lead_code

NAME = "activity"
REJECT = "activity_reject"


# --- parsers: the domain's, their refusals as field errors -----------------------------------


def _today(ctx: FormContext) -> date:
    return ctx.now.astimezone(ctx.settings.zone).date()


def _field(call: Callable[[], Any]) -> Any:
    """The services refuse with a ServiceError; a form step with a FieldError."""
    try:
        return call()
    except ServiceError as err:
        raise FieldError(err.code, **err.params) from None


def _date(text: str, ctx: FormContext) -> str:
    return str(_field(lambda: activities.parse_date(text, _today(ctx)).isoformat()))


def _text(text: str, ctx: FormContext) -> str:
    return str(_field(lambda: activities.clean_text(text)))


def _amount(text: str, ctx: FormContext) -> str:
    return str(_field(lambda: activities.parse_amount(text)))


def _lead(text: str, ctx: FormContext) -> int:
    lead_id = parse_lead_code(text)
    if lead_id is None:
        raise FieldError("activity.bad_lead")
    return lead_id


def _reason(text: str, ctx: FormContext) -> str:
    return str(
        _field(
            lambda: activities.clean_text(
                text, activities.REASON_MAX, empty="activity.reason_missing"
            )
        )
    )


# --- choices ----------------------------------------------------------------------------------


def _units(ctx: FormContext, draft: Draft) -> list[Option]:
    return [Option(str(uid), name, [uid, name]) for uid, name in draft.scratch.get("units") or []]


def _kinds(ctx: FormContext, draft: Draft) -> list[Option]:
    kinds = activities.kinds_for(ctx.actor, ctx.services.scoring)
    return [Option(str(i), k.name, k.kind) for i, k in enumerate(kinds)]


def _dates(ctx: FormContext, draft: Draft) -> list[Option]:
    today = _today(ctx)
    return [
        Option("0", msg("activity.today"), today.isoformat()),
        Option("1", msg("activity.yesterday"), (today - timedelta(days=1)).isoformat()),
    ]


# --- what the kind decides -------------------------------------------------------------------


def _note_kind(ctx: FormContext, draft: Draft) -> None:
    """Which of amount / lead / trip report this kind asks (a ServiceError if not allowed)."""
    choice = activities.kind_choice(ctx.actor, ctx.services.scoring, draft.values["kind"])
    draft.scratch.update(
        kind_name=choice.name,
        needs_amount=choice.needs_amount,
        needs_file=choice.needs_file,
        may_link_lead=choice.may_link_lead,
    )
    if not choice.needs_amount:
        draft.values.pop("amount", None)
    if not choice.may_link_lead:
        draft.values.pop("lead", None)


async def _after_kind(ctx: FormContext, draft: Draft) -> Msg | None:
    _note_kind(ctx, draft)
    return None


def _flag(name: str, expected: bool = True) -> Callable[[Draft], bool]:
    return lambda draft: bool(draft.scratch.get(name)) is expected


# --- questions ---------------------------------------------------------------------------------


def _ask(key: str) -> Callable[[FormContext, Draft], list[Msg]]:
    return lambda ctx, draft: [msg(key)]


def _ask_text(ctx: FormContext, draft: Draft) -> list[Msg]:
    kind = draft.values.get("kind") or ""
    if kind in activities.DEFAULT_ACTIVITIES:
        return [msg(f"activity.ask.text.{kind}")]
    return [msg("activity.ask.text.other")]


def _ask_files(key: str) -> Callable[[FormContext, Draft], list[Msg]]:
    return lambda ctx, draft: [msg(key, count=len(draft.values.get("files") or []))]


# --- start, summary, save ---------------------------------------------------------------------


async def _begin(ctx: FormContext, draft: Draft) -> Msg | None:
    actor = ctx.actor
    if "unit" not in draft.values:
        if actor.is_leader:
            units = await activities.unit_choices(ctx.session)
            if not units:
                return msg("activity.no_unit")
            draft.scratch["units"] = [[uid, name] for uid, name in units]
        elif actor.unit_id is None:
            return msg("activity.no_unit")
        else:
            draft.values["unit"] = [actor.unit_id, actor.unit_name or ""]
    if draft.values.get("kind"):  # prefilled (a planned trip)
        try:
            _note_kind(ctx, draft)
        except ServiceError as err:
            return Msg(err.code, err.params)
    return None


def _intro(ctx: FormContext) -> Msg:
    if ctx.actor.is_leader:
        return msg("activity.intro_leader")
    return msg("activity.intro", unit=ctx.actor.unit_name or "")


def _usd(value: Any) -> Msg:
    return msg("activity.usd", amount=f"{Decimal(value).normalize():,f}")


def _display(ctx: FormContext, field: str, value: Any) -> str:
    if field == "unit":
        return str(value[1])
    if field == "kind":
        return str(ctx.services.scoring.rules.activities.get(value, value))
    if field == "amount":
        return _usd(value).plain(ctx.locale)
    if field == "lead":
        return lead_code(int(value))
    if field == "files":
        return msg("activity.files_count", count=len(value)).plain(ctx.locale)
    return str(value)


def _planned(draft: Draft) -> bool:
    """A planned trip of /trips: its kind and text are filled in, not asked or edited."""
    return bool(draft.values.get("origin_ref"))


def _summary_extra(draft: Draft) -> list[Msg]:
    """The summary still shows what a planned trip filled in."""
    if not _planned(draft):
        return []
    return [
        msg("activity.summary_line", label=msg(f"activity.field.{name}"), value=value)
        for name, value in (
            ("kind", draft.scratch.get("kind_name") or ""),
            ("text", draft.values.get("text") or ""),
        )
    ]


def to_draft(values: dict[str, Any]) -> ActivityDraft:
    unit = values.get("unit")
    return ActivityDraft(
        kind=values["kind"],
        on_date=date.fromisoformat(values["date"]),
        text=values.get("text") or "",
        amount_usd=Decimal(values["amount"]) if values.get("amount") else None,
        files=tuple(values.get("files") or ()),
        unit_id=int(unit[0]) if unit else None,
        lead_id=values.get("lead"),
        origin_ref=values.get("origin_ref"),
    )


async def _save(ctx: FormContext, draft: Draft) -> list[Msg]:
    view = await activities.record_activity(
        ctx.session, ctx.now, ctx.actor, to_draft(draft.values), ctx.services.scoring
    )
    files = draft.values.get("files") or []
    await attachments.link_own(ctx.session, ctx.person, files, activity_id=view.activity_id)
    key = "activity.saved_verified" if view.review == "verified" else "activity.saved"
    return [msg(key, code=view.code, kind=view.kind_name, unit=view.unit_name)]


def trip_values(trip: activities.PlannedTrip, text: str) -> dict[str, Any]:
    """What a planned trip fills in: the form then asks for the date and the trip report."""
    return {
        "kind": activities.TRIP,
        "unit": [trip.unit_id, ""],
        "text": text[: activities.TEXT_MAX],
        "origin_ref": trip.ref,
    }


def form() -> Form:
    needs_amount, needs_file, may_link = (
        _flag("needs_amount"),
        _flag("needs_file"),
        _flag("may_link_lead"),
    )
    return Form(
        name=NAME,
        prefix="a",  # buttons: ap:<step>:<key>, as:<action>, ae:<step>
        steps=(
            Step(
                "unit",
                Kind.CHOICE,
                choices=_units,
                when=lambda d: bool(d.scratch.get("units")),
                ask=_ask("activity.ask.unit"),
                columns=2,
            ),
            Step(
                "kind",
                Kind.CHOICE,
                choices=_kinds,
                after=_after_kind,
                when=lambda d: not _planned(d),
                ask=_ask("activity.ask.kind"),
                columns=2,
            ),
            Step(
                "date",
                Kind.CHOICE,
                choices=_dates,
                parse=_date,  # or typed: 2026-11-20, 11月20日
                ask=_ask("activity.ask.date"),
                columns=2,
            ),
            Step(
                "text",
                parse=_text,
                ask=_ask_text,
                when=lambda d: not _planned(d),
            ),
            Step("amount", parse=_amount, ask=_ask("activity.ask.amount"), when=needs_amount),
            Step("lead", parse=_lead, optional=True, ask=_ask("activity.ask.lead"), when=may_link),
            Step(
                "report",
                Kind.FILES,
                field="files",
                min_files=1,  # a trip needs its trip report: no [完成] before it
                max_files=activities.MAX_FILES,
                keeps_bytes=True,
                ask=_ask_files("activity.ask.trip_report"),
                when=needs_file,
            ),
            Step(
                "files",
                Kind.FILES,
                optional=True,
                max_files=activities.MAX_FILES,
                keeps_bytes=True,
                ask=_ask_files("activity.ask.files"),
                when=_flag("needs_file", expected=False),
            ),
        ),
        save=_save,
        begin=_begin,
        intro=_intro,
        display=_display,
        summary_extra=_summary_extra,
    )


# --- the reject reason: a one-question form -----------------------------------------------------


async def _begin_reject(ctx: FormContext, draft: Draft) -> Msg | None:
    try:
        draft.values["code"] = await activities.check_reject(
            ctx.session, ctx.actor, int(draft.values["activity"])
        )
    except ServiceError as err:
        return Msg(err.code, err.params)
    return None


def _ask_reason(ctx: FormContext, draft: Draft) -> list[Msg]:
    return [msg("activity.ask.reason", code=draft.values.get("code") or "")]


async def _save_reject(ctx: FormContext, draft: Draft) -> list[Msg]:
    outcome = await activities.reject_activity(
        ctx.session,
        ctx.now,
        ctx.actor,
        int(draft.values["activity"]),
        draft.values["reason"],
        ctx.services.scoring,
    )
    await activities.tell_unit(
        ctx.session,
        ctx.now,
        outcome,
        "activity.notify_rejected",
        key=f"{ctx.person}:{ctx.now.isoformat()}",  # the draft goes with it: planned once
        default_locale=ctx.settings.locale,
    )
    v = outcome.view
    return [msg("activity.rejected", code=v.code, unit=v.unit_name, reason=v.review_note or "")]


def reject_form() -> Form:
    return Form(
        name=REJECT,
        prefix="aj",  # ajp / ajs / aje (never shown: no choices, no summary)
        texts="activity.reject",  # .expired, .cancelled, .text_expected …
        steps=(Step("reason", parse=_reason, ask=_ask_reason),),
        save=_save_reject,
        begin=_begin_reject,
        confirm=False,
    )


def forms() -> list[Form]:
    return [form(), reject_form()]
