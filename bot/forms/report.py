"""``/report`` as data: the guided lead form (journey 2).

Thirteen numbered questions, plus a follow-up after the company when near
matches exist ("is it the same company?"), and two optional ones when the active rules
file reads them (seed 004 二(四), :func:`bot.rules.uses.lead_fact_uses`): 县外投资比例 after
the origin, and the tax paid (服务业: the industries a tax condition names) after the amount.
Jiaocheng reads neither, so its form stays the thirteen. The company step's duplicate and
near-match check is one service call (:func:`bot.services.leads.check_company`)
so its matching can change without touching the form.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain.amounts import AmountError, format_wan_human, parse_usd, parse_wan
from bot.domain.credit_code import CreditCodeError, split_credit_code
from bot.domain.leadfields import (
    COMPANY_MAX,
    CONTACT_MAX,
    NOTES_MAX,
    PROJECT_MAX,
    clean_line,
    parse_percent,
    parse_phone,
)
from bot.forms.model import (
    Draft,
    FieldError,
    Form,
    FormContext,
    Kind,
    Msg,
    Option,
    Step,
    msg,
)
from bot.rules.uses import LeadFactUses, lead_fact_uses
from bot.services import attachments
from bot.services.leads import LeadDraft, check_company, remember_different, report_lead
from bot.services.scoring import choices_for

NAME = "report"
MAX_FILES = 10


# --- parsers ------------------------------------------------------------------------------


def _line(limit: int, *, multiline: bool = False) -> Any:
    return lambda text, ctx: clean_line(text, limit, multiline=multiline)


def _amount(text: str, ctx: FormContext) -> str:
    try:
        return str(parse_wan(text))
    except AmountError as err:
        raise FieldError(f"report.amount.{err.code}") from err


def _usd(text: str, ctx: FormContext) -> str:
    try:
        return str(parse_usd(text))
    except AmountError as err:  # the examples are in dollars here (issue 17)
        raise FieldError(f"report.usd_amount.{err.code}") from err


def _company(text: str, ctx: FormContext) -> str:
    """The name, optionally followed by its 统一社会信用代码 (checked here, split off
    by :func:`_after_company`): ``北京云算科技有限公司 91350100M000100Y43``."""
    try:
        name, code = split_credit_code(text)
    except CreditCodeError as err:
        raise FieldError(err.code) from err
    name = clean_line(name, COMPANY_MAX)
    return f"{name} {code}" if code else name


def _phone(text: str, ctx: FormContext) -> str:
    return parse_phone(text)


def _share(text: str, ctx: FormContext) -> str:
    return str(parse_percent(text))


# --- the questions the rules file decides (seed 004 二(四)) ---------------------------------


def questions(ctx: FormContext, draft: Draft) -> None:
    """What the active rules read, kept in the draft (a step's ``when`` sees only the draft)."""
    uses = lead_fact_uses(ctx.services.scoring.rules)
    draft.scratch["asks"] = {
        "share": uses.outside_share,
        "tax": uses.tax,
        "tax_industries": None if uses.tax_industries is None else sorted(uses.tax_industries),
    }


def _uses(draft: Draft) -> LeadFactUses:
    asks = draft.scratch.get("asks") or {}
    industries = asks.get("tax_industries")
    return LeadFactUses(
        bool(asks.get("share")),
        bool(asks.get("tax")),
        None if industries is None else frozenset(industries),
    )


def asks_share(draft: Draft) -> bool:
    return _uses(draft).outside_share


def asks_tax(draft: Draft) -> bool:
    """服务业 only (where the rules judge a project by its tax); before the industry: maybe."""
    return _uses(draft).tax_for(draft.values.get("industry"))


# --- choices ------------------------------------------------------------------------------


def _from_settings(attribute: str) -> Any:
    def choices(ctx: FormContext, draft: Draft) -> list[Option]:
        names = list(choices_for(ctx.services.scoring, attribute))  # rules file, config override
        return [Option(str(i), name, name) for i, name in enumerate(names)]

    return choices


def _near_options(ctx: FormContext, draft: Draft) -> list[Option]:
    options = [
        Option(
            str(c["lead_id"]),
            msg("report.near_same", code=c["code"]),
            c["lead_id"],
            msg("report.near_marked"),
        )
        for c in draft.scratch.get("near") or []
    ]
    return [*options, Option("no", msg("report.near_different"), None)]


def _near_question(ctx: FormContext, draft: Draft) -> list[Msg]:
    lines = [
        msg(
            "report.near_line",
            code=c["code"],
            project=c["project"],
            company=c["company"],
            unit=c["unit"],
        )
        for c in draft.scratch.get("near") or []
    ]
    return [msg("report.near_question"), *lines]


def _date(ctx: FormContext, when: Any) -> Msg:
    local = when.astimezone(ctx.settings.zone)
    return msg("report.date", month=local.month, day=local.day)


async def _after_company(ctx: FormContext, draft: Draft) -> Msg | None:
    """First report wins: checked as soon as the company is known (credit code first)."""
    name, code = split_credit_code(draft.values["company"])
    draft.values["company"], draft.values["credit"] = name, code
    check = await check_company(
        ctx.session,
        ctx.services.directory,
        name,
        ctx.settings.near_match_threshold,
        code,
    )
    draft.values.pop("same_as", None)
    draft.scratch.pop("near", None)
    if check.exact is not None:
        first = check.exact
        return msg(
            "dedup.already_first_credit" if check.by_credit else "report.already_first",
            unit=first.unit_name,
            date=_date(ctx, first.reported_at),
            first=first.code,
        )
    if check.near:
        draft.scratch["near"] = [
            {
                "lead_id": c.lead_id,
                "code": c.code,
                "project": c.project,
                "company": c.company,
                "unit": c.unit_name,
            }
            for c in check.near
        ]
    return None


async def _after_near(ctx: FormContext, draft: Draft) -> Msg | None:
    """ "Different company": these pairs are never asked about again, for anyone."""
    offered = [int(c["lead_id"]) for c in draft.scratch.get("near") or []]
    if offered and draft.values.get("same_as") is None:
        await remember_different(
            ctx.session, ctx.now, ctx.actor, draft.values.get("company") or "", offered
        )
    return None


# --- start, summary, save ------------------------------------------------------------------


async def _begin(ctx: FormContext, draft: Draft) -> Msg | None:
    if ctx.actor.unit_id is None:
        return msg("report.no_unit")
    draft.values.update({"tags": [], "files": []})
    questions(ctx, draft)
    return None


def _intro(ctx: FormContext) -> Msg:
    return msg("report.intro", unit=ctx.actor.unit_name or "")


def _display(ctx: FormContext, field: str, value: Any) -> str:
    if field == "amount":
        return format_wan_human(Decimal(value), ctx.locale)
    if field == "foreign":
        return msg("report.usd", amount=f"{Decimal(value):,}").plain(ctx.locale)
    if field == "tax_wan":
        return format_wan_human(Decimal(value), ctx.locale)
    if field == "outside_share":
        return f"{Decimal(value).normalize():f}%"
    if field == "tags":
        return "、".join(value)
    if field == "files":
        return msg("report.files_count", count=len(value)).plain(ctx.locale)
    return str(value)


def _summary_extra(draft: Draft) -> list[Msg]:
    extra = (
        [msg("dedup.summary_credit", code=draft.values["credit"])]
        if draft.values.get("credit")
        else []
    )
    return extra + ([msg("report.summary_same_as")] if draft.values.get("same_as") else [])


def to_lead_draft(values: dict[str, Any]) -> LeadDraft:
    return LeadDraft(
        project=values.get("project") or "",
        company=values.get("company") or "",
        industry=values.get("industry") or "",
        amount_wan=Decimal(values.get("amount") or "0"),
        origin=values.get("origin") or "",
        stage=values.get("stage") or "",
        tags=tuple(values.get("tags") or ()),
        foreign_usd=Decimal(values["foreign"]) if values.get("foreign") else None,
        contact_name=values.get("contact"),
        contact_phone=values.get("phone"),
        channel=values.get("channel"),
        notes=values.get("notes"),
        attachments=tuple(values.get("files") or ()),
        same_as=values.get("same_as"),
        credit_code=values.get("credit"),
        outside_share=_decimal(values.get("outside_share")),
        tax_wan=_decimal(values.get("tax_wan")),
    )


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(value)


async def _save(ctx: FormContext, draft: Draft) -> list[Msg]:
    values = dict(draft.values)
    if not asks_tax(draft):  # answered, then the industry changed to one not judged by tax
        values.pop("tax_wan", None)
    if not asks_share(draft):
        values.pop("outside_share", None)
    result = await report_lead(ctx.session, ctx.now, ctx.actor, to_lead_draft(values), ctx.settings)
    await attachments.link_own(ctx.session, ctx.person, values.get("files") or [], result.lead_id)
    if result.first is None:
        return [msg("report.saved", code=result.code, unit=result.unit_name)]
    first = result.first
    return [
        msg(
            "report.saved_duplicate",
            code=result.code,
            unit=first.unit_name,
            date=_date(ctx, first.reported_at),
            first=first.code,
        )
    ]


def form() -> Form:
    return Form(
        name=NAME,
        prefix="r",
        steps=(
            Step("project", parse=_line(PROJECT_MAX)),
            Step("company", parse=_company, after=_after_company),
            Step(
                "near",
                Kind.CHOICE,
                choices=_near_options,
                field="same_as",
                counted=False,
                follows=True,
                when=lambda d: bool(d.scratch.get("near")),
                ask=_near_question,
                after=_after_near,
                columns=1,
            ),
            Step("industry", Kind.CHOICE, choices=_from_settings("industries")),
            Step("amount", parse=_amount),
            Step("tax", parse=_amount, field="tax_wan", optional=True, when=asks_tax),
            Step("origin", Kind.CHOICE, choices=_from_settings("origins")),
            Step("share", parse=_share, field="outside_share", optional=True, when=asks_share),
            Step("stage", Kind.CHOICE, choices=_from_settings("stages")),
            Step("tags", Kind.MULTI, choices=_from_settings("tags"), optional=True),
            Step("foreign", parse=_usd, optional=True),
            Step("contact", parse=_line(CONTACT_MAX), optional=True),
            Step("phone", parse=_phone, optional=True),
            Step("channel", Kind.CHOICE, choices=_from_settings("channels"), optional=True),
            Step("notes", parse=_line(NOTES_MAX, multiline=True), optional=True),
            Step("files", Kind.FILES, optional=True, max_files=MAX_FILES, keeps_bytes=True),
        ),
        save=_save,
        begin=_begin,
        intro=_intro,
        display=_display,
        summary_extra=_summary_extra,
    )
