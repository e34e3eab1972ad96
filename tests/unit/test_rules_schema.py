"""The rules file: what loads, and that every mistake names its line and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.rules import RulesError, check_file, describe, load_preset, load_rules, load_rules_text
from bot.rules.schema import (
    DEFAULT_ACTIVITIES,
    DEFAULT_STAGES,
    MAX_FILE_BYTES,
    AmountStepRule,
    CoefficientRule,
    ThresholdRule,
)

GOOD = """\
title = "测试"
coefficients = "product"

[[modules]]
id = "info"
name = "项目信息"
cap = 10

[[caps]]
modules = ["info"]
cap = 30

[[rules]]
id = "signed_big"
kind = "event"
module = "info"
on = "stage_reached"
stage = "签约"
min_amount_wan = 10000
points = 5

[[rules]]
id = "quarterly"
kind = "threshold"
on = "lead_reported"
per = "quarter"
count = 2
points = 2

[[rules]]
id = "coef"
kind = "coefficient"
factor = 1.2
apply_to_rules = ["signed_big"]
tags_any = ["上市公司"]
"""


def errors_of(text: str) -> str:
    with pytest.raises(RulesError) as caught:
        load_rules_text(text)
    return str(caught.value)


def test_a_good_file_loads_with_exact_numbers_and_defaults() -> None:
    rules = load_rules_text(GOOD)
    assert rules.title == "测试" and rules.coefficients == "product"
    assert rules.counts_only_verified is False
    assert rules.stages == DEFAULT_STAGES and rules.activities == DEFAULT_ACTIVITIES
    assert [r.id for r in rules.rules] == ["signed_big", "quarterly", "coef"]
    coef, quarterly = rules.rule("coef"), rules.rule("quarterly")
    assert isinstance(coef, CoefficientRule) and isinstance(quarterly, ThresholdRule)
    assert coef.factor == Decimal("1.2")  # TOML floats are read as Decimal: no binary rounding
    assert quarterly.repeat is False


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            'kind = "threshold"',
            'kind = "bonus"',
            'rules.toml line 24, rule "quarterly": field "kind": unknown rule kind "bonus": expected one of event, ',
            id="unknown-kind",
        ),
        pytest.param(
            "cap = 10",
            "cap = -10",
            'rules.toml line 7, module "info": field "cap": must not be negative',
            id="negative-module-cap",
        ),
        pytest.param(
            "cap = 30",
            "cap = -1",
            'rules.toml line 11, cap #1: field "cap": must not be negative',
            id="negative-group-cap",
        ),
        pytest.param(
            "count = 2\n",
            "",
            'rules.toml line 23, rule "quarterly": field "count": is required',
            id="missing-field",
        ),
        pytest.param(
            "points = 5",
            "points = 5\npoint = 5",
            'rules.toml line 21, rule "signed_big": field "point": unknown field',
            id="unknown-field",
        ),
        pytest.param(
            "points = 5",
            'points = "five"',
            'rules.toml line 20, rule "signed_big": field "points": must be a number',
            id="points-not-a-number",
        ),
        pytest.param(
            'apply_to_rules = ["signed_big"]',
            'apply_to_rules = ["coef"]',
            'rules.toml line 34, rule "coef": field "apply_to_rules": "coef" is this coefficient itself',
            id="self-referencing-coefficient",
        ),
        pytest.param(
            'apply_to_rules = ["signed_big"]',
            'apply_to_rules = ["quarterly"]',
            'rules.toml line 34, rule "coef": field "apply_to_rules": "quarterly" adds up several events',
            id="coefficient-on-threshold",
        ),
        pytest.param(
            'apply_to_rules = ["signed_big"]',
            'apply_to_modules = ["perf"]',
            'rules.toml line 34, rule "coef": field "apply_to_modules": unknown module "perf" (known: info)',
            id="coefficient-unknown-module",
        ),
        pytest.param(
            'modules = ["info"]',
            'modules = ["info", "bonus"]',
            'rules.toml line 10, cap #1: field "modules": unknown module "bonus" (known: info)',
            id="cap-unknown-module",
        ),
        pytest.param(
            'module = "info"',
            'module = "perf"',
            'rules.toml line 16, rule "signed_big": field "module": unknown module "perf"',
            id="rule-unknown-module",
        ),
        pytest.param(
            'id = "quarterly"',
            'id = "signed_big"',
            'rules.toml line 23, rule "signed_big": field "id": duplicate rule id "signed_big" (also rule #1)',
            id="duplicate-rule-id",
        ),
        pytest.param(
            'stage = "签约"',
            'stage = "已签约"',
            'rules.toml line 18, rule "signed_big": field "stage": unknown stage "已签约" (known: 线索, 在谈',
            id="unknown-stage",
        ),
        pytest.param(
            'coefficients = "product"',
            'coefficients = "max"',
            "rules.toml line 2: field \"coefficients\": must be one of 'highest' or 'product'",
            id="bad-setting",
        ),
        pytest.param(
            "min_amount_wan = 10000",
            "min_amount_wan = 10000\nmax_amount_wan = 5000",
            'rules.toml line 20, rule "signed_big": field "max_amount_wan": must be above min_amount_wan',
            id="bounds-out-of-order",
        ),
        pytest.param(
            "points = 5",
            'points = 5\nper = "year"',
            'rules.toml line 21, rule "signed_big": field "per": has no effect without max_count or from_count',
            id="per-without-count",
        ),
    ],
)
def test_each_mistake_names_its_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    assert errors_of(GOOD.replace(old, new, 1)).startswith(expected)


def test_a_penalty_must_be_negative_and_an_event_positive() -> None:
    text = '[[rules]]\nid = "late"\nkind = "penalty"\non = "weekly"\nstatus = "late"\npoints = 2\n'
    assert 'line 6, rule "late": field "points": a penalty must be negative' in errors_of(text)
    text = '[[rules]]\nid = "x"\nkind = "event"\non = "weekly"\npoints = -2\n'
    assert 'line 5, rule "x": field "points": must be greater than 0' in errors_of(text)


def test_filters_must_fit_the_event_kind() -> None:
    text = (
        '[[rules]]\nid = "x"\nkind = "event"\non = "lead_reported"\nactivity = "trip"\npoints = 1\n'
    )
    assert 'line 5, rule "x": field "activity": only used with on = "activity"' in errors_of(text)
    text = '[[rules]]\nid = "x"\nkind = "event"\non = "activity"\nactivity = "golf"\npoints = 1\n'
    assert 'line 5, rule "x": field "activity": unknown activity "golf"' in errors_of(text)
    text = '[[rules]]\nid = "x"\nkind = "amount_step"\non = "funds"\nfield = "amount_usd"\nstep = 1\npoints = 1\n'
    assert (
        'line 5, rule "x": field "field": "amount_usd" is only recorded on activity events'
        in errors_of(text)
    )


def test_a_module_may_be_in_one_cap_group_only() -> None:
    text = GOOD + '\n[[caps]]\nmodules = ["info"]\ncap = 5\n'
    assert 'line 38, cap #2: field "modules": module "info" is already in cap #1' in errors_of(text)


def test_manual_is_a_reserved_rule_id() -> None:
    text = '[[rules]]\nid = "manual"\nkind = "event"\non = "weekly"\npoints = 1\n'
    assert 'line 2, rule "manual": field "id": "manual" is reserved' in errors_of(text)


def test_a_rule_without_id_or_kind_is_named_by_its_position() -> None:
    message = errors_of(GOOD + '\n[[rules]]\non = "weekly"\n')
    assert (
        'rules.toml line 37, rule #4: field "kind": is required: one of event, threshold' in message
    )


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = GOOD.replace("cap = 10", "cap = -10").replace("points = 5", "points = 5\ncolour = 1")
    lines = errors_of(text).splitlines()
    assert len(lines) == 2 and "cap" in lines[0] and "colour" in lines[1]


def test_any_of_alternatives_as_sub_tables_are_located() -> None:
    text = (
        GOOD + '\n[[rules]]\nid = "either"\nkind = "event"\non = "lead_reported"\npoints = 1\n'
        '[[rules.any_of]]\norigins = ["省外"]\n[[rules.any_of]]\norigins = []\n'
    )
    assert 'line 45, rule "either": field "any_of[2].origins": must not be empty' in errors_of(text)


def test_invalid_toml_reports_tomllib_line_and_column() -> None:
    assert errors_of(GOOD.replace('name = "项目信息"', "name = 项目信息")).startswith(
        "rules.toml line 6, column 8: invalid TOML: Invalid value"
    )


def test_a_ten_megabyte_text_is_refused_before_parsing() -> None:
    huge = "# " + "x" * (10 * 1024 * 1024) + "\n"
    assert (
        errors_of(huge)
        == "rules.toml: the file is 10.0 MB; a rules file may be at most 1 MB — is this the right file?"
    )


def test_a_big_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(
        RulesError, match=r"rules.toml: the file is 1.0 MB; a rules file may be at most 1 MB"
    ):
        load_rules(path)


def test_files_load_by_path_with_their_own_name_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "county.toml"
    path.write_text(GOOD, encoding="utf-8-sig")  # a BOM, as Windows editors write it
    assert load_rules(path) == load_rules(str(path)) == load_rules_text(GOOD)
    path.write_text(GOOD.replace("points = 2", "points = true"), encoding="utf-8")
    with pytest.raises(
        RulesError,
        match=r'^county.toml line 28, rule "quarterly": field "points": must be a number',
    ):
        load_rules(path)
    path.write_bytes(GOOD.encode("utf-8") + b"\n# \xff\n")
    with pytest.raises(RulesError, match=r"^county.toml line 37: is not UTF-8 text"):
        load_rules(path)


def test_a_missing_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(
        RulesError, match=r"nope\.toml: cannot read the file: No such file or directory"
    ):
        check_file(tmp_path / "nope.toml")


def test_check_file_returns_the_rules_and_their_description(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(GOOD, encoding="utf-8")
    rules, lines = check_file(path)
    assert rules == load_rules_text(GOOD)
    assert "签约且投资额≥1亿元：每个 +5 分（计入项目信息）" in lines
    assert "每季度报送线索满 2 条：+2 分（每季度一次）" in lines
    assert "含标签上市公司的项目：规则 signed_big得分 ×1.2" in lines
    assert "模块「项目信息」每年封顶 10 分" in lines


def test_describe_says_whether_a_threshold_repeats() -> None:
    rules = load_rules_text(GOOD.replace("points = 2", "points = 2\nrepeat = true"))
    assert "每季度报送线索满 2 条：+2 分（可累计）" in describe(rules)
    assert "every 2 × lead reported per quarter: +2 (repeatable)" in describe(rules, "en")


def test_unknown_preset_is_a_rules_error() -> None:
    with pytest.raises(RulesError, match='unknown preset "jiaozhou"'):
        load_preset("jiaozhou")


def test_amount_step_fields() -> None:
    rules = load_rules_text(
        '[[rules]]\nid = "fx"\nkind = "amount_step"\non = "activity"\nactivity = "foreign_capital"\n'
        'field = "amount_usd"\nstep = 20000\npoints = 5\nper = "year"\n'
    )
    rule = rules.rule("fx")
    assert isinstance(rule, AmountStepRule) and rule.step == 20000 and rule.per == "year"
