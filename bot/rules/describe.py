"""The points table in words: for ``leadbot rules check``, ``/score`` and ledger notes.

An official who edits the rules file must be able to read back what the bot
understood, one line per rule, in the words of the seed documents ("每季度报送
线索满 2 条：+2 分").  The ledger notes written by the engine reuse the same
phrases so that a line in ``/score`` can be traced to its rule by eye.
Notes are stored, so they are always Chinese; ``describe`` also speaks English.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from bot.rules.model import LeadFacts
from bot.rules.schema import (
    AmountStepRule,
    CapGroup,
    CoefficientRule,
    Conditions,
    EventRule,
    Module,
    PenaltyRule,
    RuleSet,
    ScoringRule,
    ThresholdRule,
    load_rules,
)

__all__ = [
    "check_file",
    "counter",
    "describe",
    "event_label",
    "history_parts",
    "join_reasons",
    "num",
    "reasons",
    "ui_warnings",
    "usd_text",
    "wan_text",
]

_PERIOD = {
    "zh": {"week": "周", "half": "半月", "month": "月", "quarter": "季度", "year": "年"},
    "en": {
        "week": "week",
        "half": "half-month",
        "month": "month",
        "quarter": "quarter",
        "year": "year",
    },
}
_EVENT = {
    "zh": {
        "lead_reported": "报送线索",
        "lead_verified": "线索认定为有效信息",
        "stage_reached": "项目推进到新阶段",
        "activity": "工作记录",
        "weekly": "周报",
        "funds": "到位资金",
        "stage_overdue": "未达到时序进度",
        "blacklisted": "纳入黑榜",
    },
    "en": {
        "lead_reported": "lead reported",
        "lead_verified": "lead verified",
        "stage_reached": "stage reached",
        "activity": "activity",
        "weekly": "weekly submission",
        "funds": "funds in place",
        "stage_overdue": "stage overdue",
        "blacklisted": "put on the black list",
    },
}
_STATUS = {
    "zh": {"on_time": "周报按时报送", "late": "周报迟报", "missing": "周报漏报"},
    "en": {
        "on_time": "weekly submission on time",
        "late": "weekly submission late",
        "missing": "weekly submission missing",
    },
}
_COUNTER = {
    "lead_reported": "条",
    "lead_verified": "条",
    "activity": "次",
    "weekly": "次",
    "funds": "笔",
}


def counter(rule: ScoringRule) -> str:
    """The measure word for what a rule counts: 条 leads, 次 activities, 个 projects."""
    return _COUNTER.get(rule.on, "个")


def _lang(locale: str) -> str:
    return "zh" if locale.lower().replace("-", "_").startswith("zh") else "en"


# --------------------------------------------------------------------------- #
# Numbers and amounts
# --------------------------------------------------------------------------- #


def num(value: Decimal) -> str:
    """Plain digits without exponent or trailing zeros: 1.20 → 1.2, 1E+2 → 100."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def wan_text(value: Decimal, locale: str = "zh_CN") -> str:
    """万元 the way the seed documents write them: 2000万元, 1亿元, 1.5亿元."""
    if _lang(locale) == "en":
        return f"¥{value * 10000:,.0f}"
    return f"{num(value / 10000)}亿元" if value >= 10000 else f"{num(value)}万元"


def usd_text(value: Decimal, locale: str = "zh_CN") -> str:
    if _lang(locale) == "en":
        return f"US${value:,.0f}" if value == value.to_integral_value() else f"US${value:,}"
    return f"{num(value / 10000)}万美元" if value >= 10000 else f"{num(value)}美元"


# --------------------------------------------------------------------------- #
# Phrases shared with the engine's notes
# --------------------------------------------------------------------------- #


def event_label(rules: RuleSet, rule: ScoringRule, locale: str = "zh_CN") -> str:
    """What the rule counts: 签约, 报送线索, 参加培训, 周报迟报, 签约节点未达到时序进度."""
    lang = _lang(locale)
    if rule.on == "activity" and rule.activity is not None:
        return rules.activities[rule.activity] if lang == "zh" else rule.activity
    if rule.on == "weekly" and rule.status is not None:
        return _STATUS[lang][rule.status]
    if rule.on == "stage_reached" and rule.stage is not None:
        return rule.stage if lang == "zh" else f"stage {rule.stage} reached"
    if rule.on == "stage_overdue" and rule.stage is not None:
        return f"{rule.stage}节点未达到时序进度" if lang == "zh" else f"stage {rule.stage} overdue"
    return _EVENT[lang][rule.on]


def reasons(conditions: Conditions, lead: LeadFacts) -> list[str]:
    """The facts of this lead that made the conditions hold, for a ledger note: ≥1亿元, 省外, 上市公司."""
    found: list[str] = []
    if conditions.min_amount_wan is not None:
        found.append(f"≥{wan_text(conditions.min_amount_wan)}")
    if conditions.max_amount_wan is not None:
        found.append(f"<{wan_text(conditions.max_amount_wan)}")
    if conditions.min_foreign_usd is not None:
        found.append(f"合同外资≥{usd_text(conditions.min_foreign_usd)}")
    if conditions.origins is not None:
        found.append(lead.origin)
    for tags in (conditions.tags_any, conditions.tags_all):
        if tags is not None:
            found.append("、".join(t for t in tags if t in lead.tags))
    if conditions.industries is not None:
        found.append(lead.industry)
    return found


def _condition_parts(c: Conditions, lang: str) -> list[str]:
    zh = lang == "zh"
    parts: list[str] = []
    if c.min_amount_wan is not None:
        parts.append(
            f"投资额≥{wan_text(c.min_amount_wan)}"
            if zh
            else f"amount ≥ {wan_text(c.min_amount_wan, 'en')}"
        )
    if c.max_amount_wan is not None:
        parts.append(
            f"投资额<{wan_text(c.max_amount_wan)}"
            if zh
            else f"amount < {wan_text(c.max_amount_wan, 'en')}"
        )
    if c.min_foreign_usd is not None:
        text = usd_text(c.min_foreign_usd, lang)
        parts.append(f"合同外资≥{text}" if zh else f"contracted foreign capital ≥ {text}")
    if c.origins is not None:
        parts.append(f"来源为{'或'.join(c.origins)}" if zh else f"origin {' or '.join(c.origins)}")
    if c.tags_any is not None:
        parts.append(
            f"含标签{'或'.join(c.tags_any)}" if zh else f"tagged {' or '.join(c.tags_any)}"
        )
    if c.tags_all is not None:
        parts.append(
            f"同时含标签{'和'.join(c.tags_all)}" if zh else f"tagged {' and '.join(c.tags_all)}"
        )
    if c.industries is not None:
        parts.append(
            f"行业为{'或'.join(c.industries)}" if zh else f"industry {' or '.join(c.industries)}"
        )
    if c.tags_none is not None:
        parts.append(
            f"不含标签{'、'.join(c.tags_none)}" if zh else f"not tagged {' or '.join(c.tags_none)}"
        )
    if c.min_outside_share is not None:
        share = num(c.min_outside_share)
        parts.append(
            f"县外投资比例≥{share}%" if zh else f"share from outside the county ≥ {share}%"
        )
    if c.min_tax_wan is not None:
        parts.append(
            f"税收≥{wan_text(c.min_tax_wan)}"
            if zh
            else f"tax paid ≥ {wan_text(c.min_tax_wan, 'en')}"
        )
    if c.reached is not None:
        parts.append(f"已{c.reached}" if zh else f"{c.reached} reached")
    return parts


def _conditions_text(rule: CoefficientRule | ScoringRule, lang: str) -> list[str]:
    """Every condition of a rule as phrases to be joined with 且 / and."""
    parts = _condition_parts(rule, lang)
    if rule.any_of is not None:
        joiner, alt = ("且", "，或") if lang == "zh" else (", ", "; or ")
        options = alt.join(joiner.join(_condition_parts(c, lang)) for c in rule.any_of)
        parts.append(f"（{options}）" if lang == "zh" else f"({options})")
    if rule.when is not None:
        parts.append(f"属于「{rule.when}」" if lang == "zh" else f"in “{rule.when}”")
    return parts


def _named_conditions_lines(rules: RuleSet, lang: str) -> list[str]:
    zh = lang == "zh"
    lines = []
    for name, named in rules.conditions.items():
        parts = _condition_parts(named, lang)
        if named.any_of is not None:
            joiner, alt = ("且", "；或") if zh else (", ", "; or ")
            parts.append(alt.join(joiner.join(_condition_parts(c, lang)) for c in named.any_of))
        text = ("且".join(parts) if zh else ", ".join(parts)) or ("任何线索" if zh else "any lead")
        if named.window_from is not None and named.windows:
            steps = "、".join(
                (
                    f"<{wan_text(w.below_wan)} {w.months} 个月"
                    if w.below_wan
                    else f"其余 {w.months} 个月"
                )
                if zh
                else (
                    f"< {wan_text(w.below_wan, 'en')}: {w.months} months"
                    if w.below_wan
                    else f"others: {w.months} months"
                )
                for w in named.windows
            )
            text += (
                f"；考核期限自{named.window_from}起 {steps}"
                if zh
                else f"; assessed from {named.window_from}: {steps}"
            )
        label = named.name or name
        lines.append(f"「{name}」{label}：{text}" if zh else f"“{name}” {label}: {text}")
    bl = rules.black_list
    if bl.mode == "streak":
        lines.append(
            f"黑榜：{'、'.join(bl.deductions)} 连续 {bl.count} 次扣分即纳入黑榜"
            + (f"（{'、'.join(bl.breaks)} 中断连续）" if bl.breaks else "")
            if zh
            else f"Black list: {bl.count} deductions in a row of {', '.join(bl.deductions)}"
        )
    if rules.confirm_stages:
        stages = "、".join(rules.confirm_stages)
        lines.append(
            f"逐节点认定：{stages}节点经领导认定后才计分"
            if zh
            else f"Confirmed nodes: {stages} score once a leader confirms them"
        )
    return lines


def history_parts(rule: ScoringRule, lang: str) -> list[str]:
    """Phrases for on_time / prior_stage, shared by describe and the notes."""
    parts: list[str] = []
    if rule.on_time:
        parts.append("按时序进度" if lang == "zh" else "on schedule")
    if rule.prior_stage is not None:
        if lang == "zh":
            within = f"同{_PERIOD['zh'][rule.prior_within]}" if rule.prior_within else ""
            parts.append(f"{within}已{rule.prior_stage}")
        else:
            within = f" in the same {_PERIOD['en'][rule.prior_within]}" if rule.prior_within else ""
            parts.append(f"{rule.prior_stage} reached before{within}")
    return parts


# --------------------------------------------------------------------------- #
# describe
# --------------------------------------------------------------------------- #


def describe(rules: RuleSet, locale: str = "zh_CN") -> list[str]:
    """The table in words, settings first, then one line per rule, then the caps."""
    lang = _lang(locale)
    lines = _settings_lines(rules, lang) + _named_conditions_lines(rules, lang)
    for rule in rules.rules:
        text = (
            _coefficient_line(rules, rule, lang)
            if isinstance(rule, CoefficientRule)
            else _rule_line(rules, rule, lang)
        )
        lines.append(_named(rule.name, text, lang))
    lines += [_module_line(m, lang) for m in rules.modules if m.cap is not None]
    lines += [_cap_line(rules, cap, lang) for cap in rules.caps]
    return lines


def _named(name: str | None, text: str, lang: str) -> str:
    """The rule's own title (e.g. 基础分(1)) lets an official match a line to the seed table."""
    if not name or text.startswith(name):
        return text
    return f"【{name}】{text}" if lang == "zh" else f"[{name}] {text}"


def _settings_lines(rules: RuleSet, lang: str) -> list[str]:
    zh = lang == "zh"
    lines = [rules.title] if rules.title else []
    lines.append(
        "首报认定：重复报送的线索在任何规则下都不计分"
        if zh
        else "First report wins: a duplicate lead scores nothing under any rule"
    )
    if rules.counts_only_verified:
        lines.append(
            "只计经认定的线索和工作记录（各规则可另行设置）"
            if zh
            else "Only verified leads and activities count (unless a rule says otherwise)"
        )
    if rules.coefficient_rules:
        if rules.coefficients == "highest":
            lines.append(
                "同一项目适用多个系数时取最高的一个"
                if zh
                else "Several coefficients on one lead: the highest applies"
            )
        else:
            lines.append(
                "同一项目适用多个系数时连乘"
                if zh
                else "Several coefficients on one lead: they multiply"
            )
    if rules.caps or any(m.cap is not None for m in rules.modules):
        lines.append("扣分不受封顶限制" if zh else "Deductions are never limited by a cap")
    if rules.categories:
        sep = "、" if zh else ", "
        lines.append(("考核序列：" if zh else "Categories: ") + sep.join(rules.categories))
    if rules.stage_deadlines:
        lines.append(_deadlines_line(rules, zh))
    return lines


def _deadlines_line(rules: RuleSet, zh: bool) -> str:
    """时序进度节点：在谈后 90 天内签约、签约后 60 天内落地（逾期即"未达到时序进度"）."""
    ordered = sorted(rules.stage_deadlines.items(), key=lambda item: rules.stages.index(item[0]))
    if zh:
        nodes = "、".join(f"{s}后 {d} 天内{rules.next_stage(s)}" for s, d in ordered)
        return f"时序进度节点：{nodes}（逾期即未达到时序进度）"
    nodes = ", ".join(f"{s} → {rules.next_stage(s)} within {d} days" for s, d in ordered)
    return f"Stage nodes: {nodes} (later is overdue)"


def _rule_line(rules: RuleSet, rule: ScoringRule, lang: str) -> str:
    zh = lang == "zh"
    what = event_label(rules, rule, lang)
    parts = _conditions_text(rule, lang) + history_parts(rule, lang)
    subject = what + "".join(f"且{p}" for p in parts) if zh else ", ".join([what, *parts])
    word = counter(rule)
    if isinstance(rule, ThresholdRule):
        per = _PERIOD[lang][rule.per]
        if zh:
            tail = "可累计" if rule.repeat else f"每{per}一次"
            text = f"每{per}{subject}满 {rule.count} {word}：+{num(rule.points)} 分"
        else:
            tail = "repeatable" if rule.repeat else f"once per {per}"
            text = f"every {rule.count} × {subject} per {per}: +{num(rule.points)}"
        return text + _rule_suffix(rules, rule, lang, [tail])
    elif isinstance(rule, AmountStepRule):
        text, tail = _amount_line(rule, subject, lang)
        return text + _rule_suffix(rules, rule, lang, [tail])
    elif isinstance(rule, PenaltyRule):
        text = (
            f"{subject}：每{word}扣 {num(-rule.points)} 分"
            if zh
            else f"{subject}: −{num(-rule.points)} each"
        )
        text += _count_limits(rule, lang)
    else:
        text = (
            f"{subject}：每{word} +{num(rule.points)} 分"
            if zh
            else f"{subject}: +{num(rule.points)} each"
        )
        text += _count_limits(rule, lang)
    return text + _rule_suffix(rules, rule, lang)


def _amount_line(rule: AmountStepRule, subject: str, lang: str) -> tuple[str, str]:
    """The line and its 按年累计 / 按单笔计 remark."""
    step = (
        usd_text(rule.step, lang)
        if rule.field in ("amount_usd", "lead_foreign_usd")
        else wan_text(rule.step, lang)
    )
    if lang == "zh":
        what = {"lead_amount_wan": "（按计划投资额）", "lead_foreign_usd": "（按合同外资）"}.get(
            rule.field, ""
        )
        tail = f"按{_PERIOD['zh'][rule.per]}累计" if rule.per else "按单笔计"
        return f"{subject}{what}每 {step}：+{num(rule.points)} 分", tail
    tail = f"accumulated per {_PERIOD['en'][rule.per]}" if rule.per else "per event"
    return f"{subject}: +{num(rule.points)} per {step} of {rule.field}", tail


def _count_limits(rule: EventRule | PenaltyRule, lang: str) -> str:
    if rule.per is None:
        return ""
    per = _PERIOD[lang][rule.per]
    text = ""
    if rule.from_count is not None:
        text += (
            f"，每{per}第 {rule.from_count} 次起"
            if lang == "zh"
            else f", from the {_ordinal(rule.from_count)} per {per}"
        )
    if rule.max_count is not None:
        text += (
            f"，每{per}最多计 {rule.max_count} 次"
            if lang == "zh"
            else f", at most {rule.max_count} per {per}"
        )
    return text


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rule_suffix(rules: RuleSet, rule: ScoringRule, lang: str, first: Sequence[str] = ()) -> str:
    """One bracket of remarks: 可累计, 须经认定, 计入<module>."""
    zh = lang == "zh"
    notes = list(first)
    if rules.only_verified(rule) and rule.on in (
        "lead_reported",
        "lead_verified",
        "stage_reached",
        "activity",
        "funds",
        "stage_overdue",
    ):
        notes.append("须经认定" if zh else "verified only")
    if rule.module is not None:
        module = rules.module(rule.module)
        name = module.name if module else rule.module
        notes.append(f"计入{name}" if zh else f"module {name}")
    if not notes:
        return ""
    return f"（{'，'.join(notes)}）" if zh else f" ({'; '.join(notes)})"


def _coefficient_line(rules: RuleSet, rule: CoefficientRule, lang: str) -> str:
    zh = lang == "zh"
    targets = [
        f"「{_module_name(rules, m)}」" if zh else f"module {_module_name(rules, m)}"
        for m in rule.apply_to_modules or ()
    ]
    targets += [f"规则 {r}" if zh else f"rule {r}" for r in rule.apply_to_rules or ()]
    parts = _conditions_text(rule, lang)
    if zh:
        who = "且".join(parts) + "的项目" if parts else "所有项目"
        return f"{who}：{'、'.join(targets)}得分 ×{num(rule.factor)}"
    who = "leads with " + ", ".join(parts) if parts else "all leads"
    return f"{who}: points of {', '.join(targets)} × {num(rule.factor)}"


def _module_name(rules: RuleSet, module_id: str) -> str:
    module = rules.module(module_id)
    return module.name if module else module_id


def _module_line(module: Module, lang: str) -> str:
    assert module.cap is not None
    per = _PERIOD[lang][module.per]
    if lang == "zh":
        return f"模块「{module.name}」每{per}封顶 {num(module.cap)} 分"
    return f"module {module.name}: at most {num(module.cap)} per {per}"


def _cap_line(rules: RuleSet, cap: CapGroup, lang: str) -> str:
    per = _PERIOD[lang][cap.per]
    names = [_module_name(rules, m) for m in cap.modules]
    if lang == "zh":
        return f"模块「{'、'.join(names)}」合计每{per}封顶 {num(cap.cap)} 分"
    return f"modules {', '.join(names)} together: at most {num(cap.cap)} per {per}"


def check_file(path: str | os.PathLike[str], locale: str = "zh_CN") -> tuple[RuleSet, list[str]]:
    """For ``leadbot rules check FILE``: validate (RulesError on failure) and read the table back."""
    rules = load_rules(Path(path))
    return rules, describe(rules, locale)


def join_reasons(parts: Sequence[str]) -> str:
    """（≥1亿元，省外） — empty when there is nothing to say."""
    shown = [p for p in parts if p]
    return f"（{'，'.join(shown)}）" if shown else ""


def ui_warnings(
    rules: RuleSet,
    choices: Mapping[str, Sequence[str]],
    activities: Sequence[str] | None = None,
) -> list[str]:
    """Every name a rule needs that the lead form, /edit or /activity cannot record.

    ``choices``: what the forms offer ("tags", "industries", "origins", "stages"), as
    :func:`bot.services.scoring.choices_for` gives them; ``activities``: the kinds /activity
    offers (default: the file's own [activities]). A rule naming anything else can never match
    an event the bot records: the line says which rule, which name and where to add it.
    """
    kinds = set(rules.activities if activities is None else activities)
    out: list[str] = []

    def check(where: str, c: Conditions) -> None:
        for key, values in (
            ("tags", [*(c.tags_any or ()), *(c.tags_all or ()), *(c.tags_none or ())]),
            ("industries", c.industries or ()),
            ("origins", c.origins or ()),
        ):
            offered = set(choices.get(key, ()))
            for value in dict.fromkeys(values):
                if value not in offered:
                    out.append(
                        f'{where}: {key[:-1] if key != "industries" else "industry"} "{value}" is not offered by the lead form (add it to the rules file\'s {key} = [...] or LEADBOT_{key.upper()})'
                    )
        if c.reached is not None:
            stage(where, c.reached)

    def stage(where: str, value: str) -> None:
        if value not in set(choices.get("stages", ())):
            out.append(
                f'{where}: stage "{value}" is not a stage leads can be moved to (LEADBOT_STAGES)'
            )

    for name, named in rules.conditions.items():
        where = f'conditions "{name}"'
        check(where, named)
        for alt in named.any_of or ():
            check(where, alt)
        if named.window_from is not None:
            stage(where, named.window_from)
    for rule in rules.rules:
        where = f'rule "{rule.id}"'
        check(where, rule)
        for alt in rule.any_of or ():
            check(where, alt)
        if isinstance(rule, CoefficientRule):
            continue
        for value in (rule.stage, rule.prior_stage):
            if value is not None:
                stage(where, value)
        if rule.activity is not None and rule.activity not in kinds:
            out.append(f'{where}: activity "{rule.activity}" cannot be recorded with /activity')
    for value in (*rules.stage_deadlines, *rules.confirm_stages):
        stage("settings", value)
    return list(dict.fromkeys(out))
