"""Company identity for first-report-wins: which spellings collide, which
must not, and how the in-memory index finds exact and near duplicates."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import key_index
from bot.domain.dedup import company_key, similarity
from bot.domain.key_index import CompanyIndex, Match

SAME_COMPANY = [
    (
        "宁德时代新能源科技股份有限公司",
        "宁德时代新能源科技",
        "宁德时代新能源科技(股份)有限公司",
        "宁德时代新能源科技（股份）有限公司",
        " 宁德时代 新能源科技有限公司 ",
    ),
    ("华为技术有限公司", "华为技术有限责任公司", "华为技术", "华为技术有限公司上海分公司"),
    ("苹果(中国)有限公司", "苹果（中国）有限公司", "苹果有限公司", "苹果", "苹果 Inc."),
    ("ABC Co., Ltd.", "abc limited", "ABC", "ＡＢＣ　ＬＴＤ", "ABC Ltd 有限公司", "abc corp"),
    ("腾讯控股有限公司", "腾讯控股", "腾讯集团", "腾讯"),
    ("中国建筑集团有限公司", "中国建筑股份有限公司", "中国建筑集团股份有限公司"),
    ("华润置地(成都)有限公司", "华润置地（上海市）有限公司", "华润置地【香港】有限公司"),
    ("深圳市某某投资合伙企业(有限合伙)", "深圳市某某投资"),
    ("中国移动上海分公司", "中国移动", "中国移动总公司"),
    ("Siemens AG", "SIEMENS", "Siemens Holdings GmbH"),
]


@pytest.mark.parametrize("names", SAME_COMPANY, ids=lambda names: names[0])
def test_spellings_of_one_company_share_a_key(names: tuple[str, ...]) -> None:
    keys = {company_key(name) for name in names}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("宁德时代新能源科技股份有限公司", "宁德时代新能源科技"),
        ("ABC Co., Ltd.", "abc"),
        ("华为技术有限公司上海分公司", "华为技术"),
        ("Costco Wholesale Corporation", "costcowholesale"),  # "co" only as a word
        ("Monaco Co", "monaco"),
        ("北京第一机床厂", "北京第一机床厂"),  # 厂 carries meaning
        ("(中国)", "中国"),  # everything removable: never empty
        ("有限公司", "有限公司"),
        ("集团有限公司", "集团有限公司"),
        ("(中国)有限公司", "有限公司"),
        ("Co., Ltd.", "co"),
        ("分公司", "分公司"),
    ],
)
def test_company_key_values(name: str, key: str) -> None:
    assert company_key(name) == key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("山东魏桥创业集团", "魏桥创业集团"),  # the province is part of the name
        ("中国建筑", "建筑"),  # unparenthesised 中国 is kept
        ("华为技术有限公司", "ＨＵＡＷＥＩ"),  # different scripts stay different
        ("腾讯科技(深圳)有限公司", "腾讯"),
        ("宁德时代新能源科技", "宁德时代新能源科技发展"),
        ("北京第一机床厂", "北京第一机床"),
        ("Costco", "Cost"),
    ],
)
def test_different_companies_keep_different_keys(a: str, b: str) -> None:
    assert company_key(a) != company_key(b)


def test_blank_or_punctuation_only_names_have_an_empty_key() -> None:
    assert company_key("") == ""
    assert company_key(" （）-·。 ") == ""


@settings(max_examples=1000)
@given(st.text())
def test_company_key_is_idempotent(name: str) -> None:
    key = company_key(name)
    assert company_key(key) == key


@settings(max_examples=1000)
@given(st.text())
def test_company_key_is_never_empty_when_the_name_has_a_letter_or_digit(name: str) -> None:
    if any(ch.isalnum() for ch in name):
        assert company_key(name)


_LEGAL_NOISE = st.sampled_from(
    ["有限公司", "股份有限公司", "（中国）有限公司", "集团", " Co., Ltd.", "(股份)有限公司", " "]
)


@given(st.sampled_from(["宁德时代新能源科技", "华为技术", "苹果", "比亚迪"]), _LEGAL_NOISE)
def test_legal_noise_never_changes_identity(base: str, noise: str) -> None:
    assert company_key(base + noise) == company_key(base)


# ---------------------------------------------------------------- similarity


def test_similarity_uses_plain_ratio_not_wratio() -> None:
    """WRatio would give 90 to both pairs (short key inside a longer one)."""
    assert similarity("华为", "华为技术") == pytest.approx(66.667, abs=0.01)
    assert similarity("魏桥创业", "山东魏桥创业") == pytest.approx(80.0)


def test_similarity_bounds_and_symmetry() -> None:
    assert similarity("abc", "abc") == 100.0
    assert similarity("abc", "xyz") == 0.0
    assert similarity("宁德时代", "宁德时代新能源") == similarity("宁德时代新能源", "宁德时代")


def test_similarity_of_an_appended_word() -> None:
    """9 vs 11 characters: 2*9/20 = exactly 90, i.e. *on* the default
    threshold -- near() includes it (cutoff is inclusive)."""
    assert similarity("宁德时代新能源科技", "宁德时代新能源科技发展") == 90.0
    # A one-character typo in a 9-character key is below the default 90.
    assert similarity("宁德时代新能源科技", "宁德时代新能原科技") == pytest.approx(88.889, abs=0.01)


# ---------------------------------------------------------------- index


def _index() -> CompanyIndex:
    return CompanyIndex(
        [
            (company_key("宁德时代新能源科技股份有限公司"), "lead-1"),
            (company_key("宁德时代新能源科技发展有限公司"), "lead-2"),
            (company_key("华为技术有限公司"), "lead-3"),
            (company_key("山东魏桥创业集团"), "lead-4"),
        ]
    )


def test_exact_lookup() -> None:
    index = _index()
    assert index.exact(company_key("宁德时代新能源科技（股份）有限公司")) == ["lead-1"]
    assert index.exact(company_key("魏桥创业集团")) == []
    assert len(index) == 4
    assert "华为技术" in index


def test_exact_returns_a_copy() -> None:
    index = _index()
    index.exact("华为技术").append("intruder")
    assert index.exact("华为技术") == ["lead-3"]


def test_near_excludes_exact_and_finds_appended_word() -> None:
    index = _index()
    matches = index.near("宁德时代新能源科技")
    assert matches == [Match("宁德时代新能源科技发展", 90.0, "lead-2")]


def test_near_threshold_is_inclusive_and_respected() -> None:
    index = _index()
    assert index.near("宁德时代新能源科技", threshold=90.0)
    assert index.near("宁德时代新能源科技", threshold=90.01) == []
    assert index.near("魏桥创业") == []  # 80: a different company
    assert [m.ref for m in index.near("魏桥创业", threshold=75)] == ["lead-4"]


def test_near_orders_best_first_and_limits() -> None:
    index = CompanyIndex(
        [("abcdefghij", 1), ("abcdefghik", 2), ("abcdefghkk", 3), ("abcdefgkkk", 4)]
    )
    matches = index.near("abcdefghij", threshold=60)
    assert [m.ref for m in matches] == [2, 3, 4]
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    assert [m.ref for m in index.near("abcdefghij", threshold=60, limit=2)] == [2, 3]


def test_near_reports_every_ref_of_a_shared_key() -> None:
    index = CompanyIndex([("华为技术", "a"), ("华为技术", "b")])
    assert [m.ref for m in index.near("华为技木", threshold=70)] == ["a", "b"]


def test_near_on_empty_index() -> None:
    assert CompanyIndex().near("华为技术") == []


@pytest.mark.parametrize(("threshold", "limit"), [(-1, 5), (101, 5), (90, 0)])
def test_near_rejects_bad_arguments(threshold: float, limit: int) -> None:
    with pytest.raises(ValueError):
        CompanyIndex().near("x", threshold=threshold, limit=limit)


def test_remove() -> None:
    index = _index()
    index.add("华为技术", "lead-9")
    index.remove("华为技术", "lead-3")
    assert index.exact("华为技术") == ["lead-9"]
    index.remove("华为技术", "lead-9")
    assert index.exact("华为技术") == []
    assert "华为技术" not in index
    assert all(m.key != "华为技术" for m in index.near("华为技木", threshold=0))
    # the swap-removal kept the other keys reachable
    assert index.exact("山东魏桥创业") == ["lead-4"]
    assert index.near("宁德时代新能源科技")[0].ref == "lead-2"


def test_remove_unknown_entry_raises() -> None:
    index = _index()
    with pytest.raises(KeyError):
        index.remove("华为技术", "lead-404")
    with pytest.raises(KeyError):
        index.remove("不存在", "lead-3")


def test_add_rejects_empty_key() -> None:
    with pytest.raises(ValueError):
        CompanyIndex().add("", "lead")


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "ab", "abc", "abd", "xyz"]), st.integers(0, 3)),
        max_size=20,
    ),
    st.data(),
)
def test_index_matches_a_naive_model(entries: list[tuple[str, int]], data: st.DataObject) -> None:
    """Random adds and removes agree with a plain list of pairs."""
    index = CompanyIndex(entries)
    model = list(entries)
    for key, ref in data.draw(st.permutations(entries))[: len(entries) // 2]:
        index.remove(key, ref)
        model.remove((key, ref))
    # Then adds again (a key's lone ref and its list of several, slots moved by removals).
    for key, ref in data.draw(st.lists(st.sampled_from(entries), max_size=6)) if entries else []:
        index.add(key, ref)
        model.append((key, ref))
    for key in ["a", "ab", "abc", "abd", "xyz"]:
        assert index.exact(key) == [r for k, r in model if k == key]
        assert (key in index) == any(k == key for k, _ in model)
        expected = sorted({k for k, _ in model if k != key and similarity(k, key) >= 50})
        near = index.near(key, threshold=50, limit=100)
        assert sorted({m.key for m in near}) == expected
        assert all(m.ref in index.exact(m.key) for m in near)
    assert len(index) == len(model)


# The bulk pre-filter must never drop a key a full scan would report.
_KEYS = st.text(alphabet="华为技术宁德时代新能源科发展魏桥创业ab", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(_KEYS, max_size=40, unique=True),
    removed=st.sets(st.integers(min_value=0, max_value=39), max_size=10),
    query=_KEYS,
    threshold=st.sampled_from([0.0, 50.0, 75.0, 80.0, 88.0, 90.0, 90.01, 95.0, 100.0]),
)
def test_near_equals_a_scan_of_every_key(
    keys: list[str], removed: set[int], query: str, threshold: float
) -> None:
    index = CompanyIndex((key, i) for i, key in enumerate(keys))
    for i in sorted(removed):
        if i < len(keys):
            index.remove(keys[i], i)  # removals move keys between slots
    kept = [key for i, key in enumerate(keys) if i not in removed]
    expected = sorted(
        (k for k in kept if k != query and similarity(query, k) >= threshold),
        key=lambda k: (-similarity(query, k), k),
    )
    found = index.near(query, threshold=threshold, limit=len(keys) + 1)
    assert [m.key for m in found] == expected


def _edited(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with a few edits: (0 insert | 1 delete | 2 replace, position, character)."""
    for kind, at, ch in edits:
        at %= len(text) + 1
        if kind == 0:
            text = text[:at] + ch + text[at:]
        elif text and kind == 1:
            text = text[: min(at, len(text) - 1)] + text[min(at, len(text) - 1) + 1 :]
        elif text:
            text = text[: min(at, len(text) - 1)] + ch + text[min(at, len(text) - 1) + 1 :]
    return text or ch


_EDITS = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 20), st.sampled_from("华为技术宁德时代新能源ab")),
    min_size=1,
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(
    query=st.text(alphabet="华为技术宁德时代新能源科发展魏桥创业ab", min_size=4, max_size=16),
    edits=st.lists(_EDITS, max_size=30),
    others=st.lists(_KEYS, max_size=10),
    removed=st.lists(st.integers(min_value=0, max_value=39), max_size=10, unique=True),
    threshold=st.sampled_from([50.0, 75.0, 80.0, 88.0, 90.0, 90.01, 95.0]),
)
def test_the_character_index_equals_a_scan_of_every_key(
    query: str,
    edits: list[list[tuple[int, int, str]]],
    others: list[str],
    removed: list[int],
    threshold: float,
) -> None:
    """The character → keys inverted index, forced on however common the characters (in
    any order of removals, which move keys between slots), drops no key a scan finds:
    keys a few edits from the query, and unrelated ones."""
    keys = list(dict.fromkeys([_edited(query, e) for e in edits] + others))
    share, key_index.POSTING_SHARE = key_index.POSTING_SHARE, float("inf")
    try:
        index = CompanyIndex((key, i) for i, key in enumerate(keys))
        for i in removed:
            if i < len(keys):
                index.remove(keys[i], i)
        kept = [key for i, key in enumerate(keys) if i not in removed]
        expected = sorted(
            (k for k in kept if k != query and similarity(query, k) >= threshold),
            key=lambda k: (-similarity(query, k), k),
        )
        found = index.near(query, threshold=threshold, limit=len(keys) + 1)
    finally:
        key_index.POSTING_SHARE = share
    assert [m.key for m in found] == expected


def test_the_character_index_reads_only_keys_sharing_a_rare_character() -> None:
    keys = [f"公司{chr(0x4E00 + i)}{chr(0x5E00 + i)}科技" for i in range(2000)]
    index = CompanyIndex((key, i) for i, key in enumerate(keys))
    slots = index._sharing("公司" + chr(0x4E07) + "好科技", 90.0)
    assert slots is not None and len(slots) <= 2
    assert [m.ref for m in index.near("公司" + chr(0x4E07) + "好科技", 80.0)] == [7]
    assert [m.ref for m in index.near(keys[7] + "厂", 90.0)] == [7]
