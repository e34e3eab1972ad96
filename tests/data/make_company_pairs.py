"""Writes ``company_pairs.tsv``: the labelled corpus for company-name matching.

    python tests/data/make_company_pairs.py

The hand-written pairs (``HAND``) are real or realistic names; the rule-based
part applies one kind of variation at a time to a list of realistic companies
(``BASES``). Labels are by construction: a typo, a dropped word, a moved place
name or another script is the same company; another place, another industry
or an unlike character in the identity is another company. The output is
committed; the tests and ``bench/firstreport.py`` read the file, not this script.
"""

from __future__ import annotations

import random
from pathlib import Path

import opencc
from pypinyin import Style, pinyin

OUT = Path(__file__).with_name("company_pairs.tsv")

# (place, identity, trade, legal form)
BASES = [
    ("北京", "云算", "科技", "有限公司"),
    ("甘肃", "康王", "药业", "有限公司"),
    ("浙江", "恒逸", "石化", "股份有限公司"),
    ("江苏", "恒力", "化纤", "股份有限公司"),
    ("山西", "焦煤", "能源", "集团有限责任公司"),
    ("浙江", "开山", "压缩机", "股份有限公司"),
    ("衢州", "元立", "金属制品", "有限公司"),
    ("杭州", "海康", "威视数字技术", "股份有限公司"),
    ("浙江", "华友", "钴业", "股份有限公司"),
    ("宁波", "均胜", "电子", "股份有限公司"),
    ("安徽", "海螺", "水泥", "股份有限公司"),
    ("湖南", "三一", "重工", "股份有限公司"),
    ("江西", "赣锋", "锂业", "股份有限公司"),
    ("福建", "宁德", "时代新能源", "股份有限公司"),
    ("山东", "魏桥", "创业", "集团有限公司"),
    ("四川", "通威", "太阳能", "有限公司"),
    ("广东", "美的", "电器", "股份有限公司"),
    ("河南", "双汇", "食品", "有限公司"),
    ("内蒙古", "伊泰", "煤炭", "股份有限公司"),
    ("浙江", "正泰", "电器", "股份有限公司"),
    ("开化县", "钱江", "源水", "有限公司"),
    ("衢州", "巨化", "新材料", "有限公司"),
    ("浙江", "盛达", "铁塔", "有限公司"),
    ("江苏", "沙钢", "钢铁", "有限公司"),
    ("河北", "敬业", "钢铁", "有限公司"),
    ("浙江", "新和成", "药业", "有限公司"),
    ("重庆", "长安", "汽车", "股份有限公司"),
    ("天津", "中环", "半导体", "股份有限公司"),
    ("陕西", "隆基", "绿能", "股份有限公司"),
    ("湖北", "兴发", "化工", "集团股份有限公司"),
    ("云南", "白药", "健康", "有限公司"),
    ("贵州", "茅台", "酒业", "有限公司"),
    ("浙江", "晶盛", "机电", "股份有限公司"),
    ("上海", "振华", "重工", "股份有限公司"),
    ("广西", "柳工", "机械", "股份有限公司"),
    ("山东", "玲珑", "轮胎", "股份有限公司"),
    ("浙江", "伟星", "新型建材", "股份有限公司"),
    ("江苏", "阳光", "纺织", "有限公司"),
    ("浙江", "金龙", "再生资源", "有限公司"),
    ("安徽", "国祯", "环保", "有限公司"),
    ("福建", "圣农", "发展", "股份有限公司"),
    ("湖南", "华菱", "钢铁", "有限公司"),
    ("浙江", "东方日升", "新能源", "股份有限公司"),
    ("江西", "铜业", "铜材", "有限公司"),
    ("四川", "天齐", "锂业", "股份有限公司"),
    ("浙江", "佳力", "风能", "有限公司"),
    ("衢州", "明辉", "食品", "有限公司"),
    ("开化县", "瑞丰", "纸业", "有限公司"),
    ("浙江", "宏源", "环保", "有限公司"),
    ("杭州", "远诚", "物流", "有限公司"),
    ("宁波", "博德", "高科", "股份有限公司"),
    ("浙江", "鑫泰", "建材", "有限公司"),
    ("江苏", "祥和", "纺织", "有限公司"),
    ("浙江", "锦程", "医药", "有限公司"),
    ("浙江", "凯盛", "光电", "有限公司"),
    ("杭州", "润泽", "机械", "有限公司"),
    ("湖北", "晨光", "化工", "有限公司"),
    ("浙江", "俊峰", "竹木", "有限公司"),
    ("开化县", "腾达", "硅业", "有限公司"),
    ("浙江", "永辉", "塑业", "有限公司"),
]

# A wrong character of similar sound or shape, as typed or misread.
CONFUSABLE = {
    "技": "枝",
    "源": "原",
    "钢": "刚",
    "盛": "胜",
    "化": "华",
    "华": "化",
    "康": "慷",
    "王": "旺",
    "恒": "衡",
    "逸": "溢",
    "力": "历",
    "山": "珊",
    "元": "园",
    "立": "丽",
    "海": "嗨",
    "友": "有",
    "均": "钧",
    "胜": "盛",
    "螺": "罗",
    "一": "壹",
    "锋": "峰",
    "赣": "甘",
    "宁": "凝",
    "德": "得",
    "魏": "巍",
    "桥": "乔",
    "通": "同",
    "威": "葳",
    "美": "镁",
    "的": "得",
    "双": "霜",
    "汇": "惠",
    "伊": "依",
    "泰": "太",
    "正": "政",
    "钱": "浅",
    "江": "疆",
    "巨": "拒",
    "达": "迖",
    "沙": "纱",
    "敬": "警",
    "业": "叶",
    "新": "鑫",
    "和": "禾",
    "成": "诚",
    "长": "常",
    "安": "按",
    "中": "钟",
    "环": "还",
    "隆": "龙",
    "基": "箕",
    "兴": "星",
    "发": "法",
    "白": "百",
    "药": "要",
    "茅": "矛",
    "台": "抬",
    "晶": "精",
    "振": "震",
    "柳": "柳",
    "工": "功",
    "玲": "铃",
    "珑": "龙",
    "伟": "玮",
    "星": "腥",
    "阳": "扬",
    "光": "广",
    "金": "津",
    "龙": "隆",
    "国": "郭",
    "祯": "桢",
    "圣": "胜",
    "农": "浓",
    "菱": "凌",
    "东": "冬",
    "方": "芳",
    "日": "曰",
    "升": "生",
    "铜": "同",
    "齐": "琪",
    "佳": "嘉",
    "明": "名",
    "辉": "晖",
    "瑞": "锐",
    "丰": "峰",
    "宏": "弘",
    "远": "园",
    "诚": "城",
    "博": "搏",
    "鑫": "新",
    "祥": "详",
    "锦": "绵",
    "程": "呈",
    "凯": "恺",
    "润": "闰",
    "泽": "择",
    "晨": "辰",
    "俊": "骏",
    "峰": "锋",
    "腾": "藤",
    "永": "泳",
    "云": "芸",
    "算": "蒜",
}
# Characters that neither sound nor look like the identity's: another company.
UNLIKE = "力逸宇航汉唐凤鸣青松川岳信达福禄金银梅竹海天川谷"
GENERIC = ["科技", "实业", "制造", "工业", "集团"]
SUFFIXES = ["有限责任公司", "股份有限公司", "股份公司", "公司", "有限公司"]
OTHER_TRADES = ["药业", "化工", "物流", "食品", "纺织", "建材", "电子", "机械"]
OTHER_PLACES = ["山东", "山西", "江苏", "浙江", "安徽", "湖南", "湖北", "广东", "河北", "河南"]

# Hand-picked pairs: (a, b, same, category)
HAND = [
    ("北京云算科技有限公司", "北京云算科枝有限公司", 1, "typo_shape"),
    ("康王药业（甘肃）有限公司", "甘肃康王药业有限公司", 1, "place_bracket"),
    ("山西焦煤集团有限责任公司", "山东焦煤集团有限公司", 0, "diff_place"),
    ("华为技术有限公司", "HUAWEI", 1, "pinyin"),
    ("海尔集团公司", "Haier", 1, "pinyin"),
    ("比亚迪股份有限公司", "BYD", 1, "pinyin_initials"),
    ("安踏体育用品有限公司", "ANTA", 1, "pinyin"),
    ("李宁", "LINING", 1, "pinyin"),
    ("娃哈哈集团有限公司", "WAHAHA", 1, "pinyin"),
    ("伊利实业集团股份有限公司", "YILI", 1, "pinyin"),
    ("内蒙古蒙牛乳业（集团）股份有限公司", "MENGNIU", 1, "pinyin"),
    ("百度在线网络技术（北京）有限公司", "北京百度在线网络技术有限公司", 1, "place_bracket"),
    ("中国石油化工股份有限公司", "中国石油天然气股份有限公司", 0, "diff_identity"),
    ("中信银行股份有限公司", "中兴通讯股份有限公司", 0, "diff_identity"),
    ("海信集团有限公司", "海尔集团公司", 0, "diff_identity"),
    ("华润置地有限公司", "华联置地有限公司", 0, "diff_identity"),
    ("万科企业股份有限公司", "万达集团股份有限公司", 0, "diff_identity"),
    ("招商银行股份有限公司", "招商证券股份有限公司", 0, "diff_trade"),
    ("浙江吉利控股集团有限公司", "浙江吉奥汽车有限公司", 0, "diff_identity"),
    ("浙江恒逸石化有限公司", "浙江恒力石化有限公司", 0, "diff_one_char"),
    ("宁德时代新能源科技股份有限公司", "宁德时代新能源科技发展有限公司", 1, "generic"),
    ("开化县钱江源水有限公司", "开化钱江源水有限公司", 1, "place_suffix"),
    ("衢州元立金属制品有限公司", "元立金属制品（衢州）有限公司", 1, "place_bracket"),
    ("衢州元立金属制品有限公司", "衢州元力金属制品有限公司", 1, "typo_sound"),
    ("浙江开山压缩机股份有限公司", "浙江开山压缩机厂", 1, "suffix"),
    ("杭州海康威视数字技术股份有限公司", "杭州海康威视数字技朮股份有限公司", 1, "typo_shape"),
    ("上海振华重工（集团）股份有限公司", "上海振华重工股份有限公司", 1, "generic"),
    ("上海振华重工股份有限公司", "上海中华重工有限公司", 0, "diff_one_char"),
    ("ＴＣＬ科技集团股份有限公司", "TCL科技集团股份有限公司", 1, "fullwidth"),
    ("TCL科技集团股份有限公司", "TCL 科技 集团", 1, "suffix"),
    ("湖南三一重工股份有限公司", "湖南三一重工股份有限公司长沙分公司", 1, "branch"),
    ("北京京东世纪贸易有限公司", "北京京西世纪贸易有限公司", 0, "diff_one_char"),
    ("江苏沙钢集团有限公司", "江苏沙刚集团有限公司", 1, "typo_sound"),
    ("湖北兴发化工集团股份有限公司", "湖北兴发华工集团股份有限公司", 1, "typo_sound"),
    ("浙江华友钴业股份有限公司", "浙江华有钴业股份有限公司", 1, "typo_sound"),
    ("浙江华友钴业股份有限公司", "浙江华峰钴业股份有限公司", 0, "diff_one_char"),
    ("贵州茅台酒股份有限公司", "贵州習酒股份有限公司", 0, "diff_identity"),
    ("國家電網有限公司", "国家电网有限公司", 1, "traditional"),
    ("臺灣積體電路製造股份有限公司", "台湾积体电路制造股份有限公司", 1, "traditional"),
    ("开化县华康药业有限公司", "开化县华东药业有限公司", 0, "diff_one_char"),
    ("开化县华康药业有限公司", "开化县华康化工有限公司", 0, "diff_trade"),
    ("开化县华康药业有限公司", "开化县金康药业有限公司", 0, "diff_one_char"),
]


def _sound_alike(p: str, q: str) -> bool:
    def readings(ch: str) -> set[str]:
        return set(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])

    return bool(readings(p) & readings(q))


def build(rng: random.Random) -> list[tuple[str, str, int, str]]:
    t2 = opencc.OpenCC("s2t")
    pairs: list[tuple[str, str, int, str]] = list(HAND)
    for place, ident, trade, form in BASES:
        name = place + ident + trade + form
        typo_at = rng.randrange(len(ident))
        wrong = CONFUSABLE.get(ident[typo_at])
        if wrong and wrong != ident[typo_at]:
            typo = ident[:typo_at] + wrong + ident[typo_at + 1 :]
            pairs.append((name, place + typo + trade + form, 1, "typo"))
        generic = rng.choice([g for g in GENERIC if g not in trade])
        pairs.append((name, place + ident + generic + trade + form, 1, "generic_added"))
        pairs.append(
            (
                name,
                ident + trade + "（" + place.removesuffix("县") + "）" + form,
                1,
                "place_bracket",
            )
        )
        pairs.append((name, ident + trade + form, 1, "place_dropped"))
        suffix = rng.choice([s for s in SUFFIXES if s != form])
        pairs.append((name, place + ident + trade + suffix, 1, "suffix"))
        traditional = t2.convert(name)
        if traditional != name:
            pairs.append((name, traditional, 1, "traditional"))
        pairs.append((name, place + ident + trade + "厂", 1, "suffix_factory"))
        # Different companies.
        other_place = rng.choice([p for p in OTHER_PLACES if p != place])
        pairs.append((name, other_place + ident + trade + form, 0, "diff_place"))
        other_trade = rng.choice([t for t in OTHER_TRADES if t != trade])
        pairs.append((name, place + ident + other_trade + form, 0, "diff_trade"))
        at = rng.randrange(len(ident))
        unlike = rng.choice(
            [c for c in UNLIKE if c not in ident and not _sound_alike(c, ident[at])]
        )
        pairs.append(
            (name, place + ident[:at] + unlike + ident[at + 1 :] + trade + form, 0, "diff_one_char")
        )
        partner = rng.choice(BASES)
        if partner[1] != ident:
            pairs.append((name, place + partner[1] + trade + form, 0, "diff_same_place_trade"))
    return pairs


def main() -> None:
    pairs = build(random.Random(14))
    lines = ["name_a\tname_b\tsame\tcategory"]
    lines += [f"{a}\t{b}\t{same}\t{category}" for a, b, same, category in pairs]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(pairs)} pairs written to {OUT}")


if __name__ == "__main__":
    main()
