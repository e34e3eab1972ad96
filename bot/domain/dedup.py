"""Company identity for "first report wins" (首报认定).

One company may be claimed by one reporting unit only, so two spellings of
the same company must collide and two different companies must not.  The
exact rule is a normalised *key* (:func:`company_key`); near misses
(typos, an extra 发展) are surfaced by :meth:`bot.domain.key_index.CompanyIndex.near` for a human
to decide, never auto-merged.

Key decisions (the tests pin each one):

* Legal-form words are noise (有限公司, 股份有限公司, 集团, 控股, Co., Ltd ...),
  and are stripped from the end repeatedly, but a key is never emptied: a
  name made only of such words keeps its last non-empty form.
* Parenthesised region markers -- (中国), （上海）, (香港) -- and legal markers
  -- (股份), (集团), (有限合伙) -- are dropped.  Unparenthesised place names
  are kept: 山东魏桥 is not 魏桥.
* A branch (分公司) is not a legal person; it *is* its parent company.
  ``华为技术有限公司上海分公司`` therefore keys as ``华为技术``, so a branch
  cannot be used to re-claim a company another unit reported first.
* 厂 and other words that carry meaning are kept.
* Different scripts are different names (华为 ≠ huawei); transliteration is
  a human's call via :meth:`~bot.domain.key_index.CompanyIndex.near` or review.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from rapidfuzz import fuzz

__all__ = ["company_key", "similarity"]

_CN_SUFFIXES = tuple(
    sorted(
        (
            "集团股份有限公司",
            "集团有限公司",
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "股份公司",
            "有限合伙",
            "合伙企业",
            "总公司",
            "公司",
            "集团",
            "控股",
            "股份",
        ),
        key=len,
        reverse=True,
    )
)
_BRANCH = "分公司"
_EN_SUFFIXES = frozenset(
    {
        "co",
        "company",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "group",
        "holding",
        "holdings",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "bv",
        "nv",
        "pte",
        "pty",
    }
)

_REGIONS = (
    # Provinces, municipalities, SARs, then large cities that commonly appear
    # as "(城市)" in subsidiary names.
    "中国",
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "青岛",
    "厦门",
    "宁波",
    "大连",
    "沈阳",
    "长沙",
    "郑州",
    "合肥",
    "济南",
    "福州",
    "无锡",
    "东莞",
    "佛山",
    "珠海",
    "昆明",
    "贵阳",
    "南宁",
    "南昌",
    "太原",
    "石家庄",
    "哈尔滨",
    "长春",
    "呼和浩特",
    "兰州",
    "西宁",
    "银川",
    "乌鲁木齐",
    "拉萨",
    "海口",
    "三亚",
    "常州",
    "南通",
    "徐州",
    "烟台",
    "温州",
    "绍兴",
    "嘉兴",
    "泉州",
    "惠州",
    "中山",
    "江门",
    "洛阳",
    "唐山",
)
_REGION_SUFFIX = "(?:省|市|自治区|特别行政区|地区)?"
_LEGAL_MARKERS = ("股份", "集团", "控股", "有限", "有限合伙", "普通合伙", "特殊普通合伙")
_LATIN_REGIONS = ("china", "prc", "hk", "hong kong", "shanghai", "beijing", "shenzhen")

_PAREN_MARKER = re.compile(
    r"[(\[【〔〖]\s*(?:"
    + "|".join(f"(?:{r}){_REGION_SUFFIX}" for r in sorted(_REGIONS, key=len, reverse=True))
    + "|"
    + "|".join(sorted(_LEGAL_MARKERS, key=len, reverse=True))
    + "|"
    + "|".join(re.escape(r) for r in _LATIN_REGIONS)
    + r")\s*[)\]】〕〗]"
)
_TRAILING_REGION = re.compile(
    "(?:" + "|".join(sorted(_REGIONS, key=len, reverse=True)) + ")" + _REGION_SUFFIX + "$"
)

# Ideographs, kana and Hangul syllables: scripts written without spaces, so
# a space between two of them is noise, not a word boundary.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}])")


def company_key(name: str) -> str:
    """The identity of a company name for first-report-wins.

    Equal keys mean "the same company" and block a second claim, so the
    key errs on the side of *keeping* words: only legal-form noise goes.
    """
    folded = _fold(name)
    tokens = _tokens(_PAREN_MARKER.sub(" ", folded)) or _tokens(folded)
    return _fold("".join(_strip_legal_forms(tokens)))


def similarity(a_key: str, b_key: str) -> float:
    """0..100 closeness of two keys.

    ``fuzz.ratio`` (normalised Indel), deliberately not ``WRatio``: WRatio
    scores a short key inside a longer one via partial matching, so 华为 vs
    华为技术 and 魏桥创业 vs 山东魏桥创业 both score 90 -- exactly the
    distinct companies the index must not flag.  Token-based ratios buy
    nothing here: keys contain no spaces.
    """
    return float(fuzz.ratio(a_key, b_key))


def _fold(text: str) -> str:
    """NFKC + case folding to a fixed point, so that folding a key again
    cannot change it (casefold can emit text that NFKC rewrites)."""
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
        if folded == text:
            break
        text = folded
    return text


def _tokens(text: str) -> list[str]:
    """Letters and digits only; every other character separates words,
    except between CJK characters, where spaces mean nothing."""
    kept = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in text)
    return _CJK_GAP.sub("", " ".join(kept.split())).split()


def _strip_legal_forms(tokens: list[str]) -> list[str]:
    """Peel legal-form words off the end until none is left, stopping
    before the name would vanish (``有限公司`` stays ``有限公司``)."""
    while True:
        stripped = _strip_once(tokens)
        if stripped == tokens or not stripped:
            return tokens
        tokens = stripped


def _strip_once(tokens: Sequence[str]) -> list[str]:
    """One peel.  English forms are whole words only, so Costco keeps its
    "co"; Chinese forms are suffixes of the last (unspaced) word."""
    if not tokens:
        return []
    head, last = list(tokens[:-1]), tokens[-1]
    if last in _EN_SUFFIXES:
        return head
    if last == _BRANCH:
        return head
    if last.endswith(_BRANCH):
        return [*head, _parent_of_branch(last[: -len(_BRANCH)])]
    for suffix in _CN_SUFFIXES:
        if last.endswith(suffix):
            rest = last[: -len(suffix)]
            return [*head, rest] if rest else head
    return [*head, last]


def _parent_of_branch(head: str) -> str:
    """``华为技术有限公司上海`` → ``华为技术有限公司``; without a legal form
    to cut at, drop a trailing place name (``中国移动上海`` → ``中国移动``)."""
    cut = max(head.rfind(form) + len(form) if form in head else -1 for form in _CN_SUFFIXES)
    if cut > 0 and head[:cut] not in _CN_SUFFIXES:
        return head[:cut]
    parent = _TRAILING_REGION.sub("", head)
    return parent or head
