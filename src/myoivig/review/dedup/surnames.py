"""How Chinese surnames are read, where that differs from the character's ordinary reading.

pypinyin (0.55) has no surname mode (python-pinyin issue #297 asks for one; not implemented), so
`lazy_pinyin` reads a surname as an ordinary character: 曾 -> 'ceng' although the surname is Zeng,
单 -> 'dan' (Shan), 区 -> 'qu' (Ou), 仇 -> 'chou' (Qiu). MEDLINE spells authors by the surname
reading, so a CNKI record and its MEDLINE twin would get different author keys.

Sources of the readings: the surname list in mozillazg/python-pinyin issue #297 (taken from the
surname dictionary of overtrue/pinyin), checked against the surname entries of the Xiandai Hanyu
Cidian (e.g. 曾 zēng, 单 shàn, 区 ōu, 仇 qiú, 解 xiè, 查 zhā, 朴 piáo, 乐 yuè, 盖 gě, 缪 miào,
覃 qín, 翟 zhái). Only characters whose surname reading differs (without tones) from pypinyin's
default are listed; readings are toneless ASCII, ü written 'u' as MEDLINE does (吕 -> Lu).
Characters with two established surname readings (覃 Qin/Tan) use the more frequent one.
"""

from __future__ import annotations

# single-character surnames: character -> toneless surname reading
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng",
    "单": "shan",
    "区": "ou",
    "仇": "qiu",
    "解": "xie",
    "查": "zha",
    "朴": "piao",
    "乐": "yue",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "召": "shao",
    "种": "chong",
    "重": "chong",
    "秘": "bi",
    "繁": "po",
    "折": "she",
    "粘": "nian",
    "藏": "zang",
    "都": "du",
    "六": "lu",
    "薄": "bo",
    "阚": "kan",
    "卜": "bu",
    "员": "yun",
    "祭": "zhai",
    "句": "gou",
    "黑": "he",
    "隗": "wei",
    "能": "nai",
}

# two-character surnames: characters -> toneless reading (pypinyin's phrase dictionary reads most
# of them correctly; they are listed so the split into surname and given name is right)
COMPOUND_SURNAMES: dict[str, str] = {
    "欧阳": "ouyang",
    "司马": "sima",
    "诸葛": "zhuge",
    "上官": "shangguan",
    "东方": "dongfang",
    "皇甫": "huangfu",
    "尉迟": "yuchi",
    "公孙": "gongsun",
    "慕容": "murong",
    "令狐": "linghu",
    "长孙": "zhangsun",
    "宇文": "yuwen",
    "司徒": "situ",
    "夏侯": "xiahou",
    "轩辕": "xuanyuan",
    "端木": "duanmu",
    "独孤": "dugu",
    "南宫": "nangong",
    "西门": "ximen",
    "申屠": "shentu",
    "万俟": "moqi",
    "单于": "chanyu",
    "澹台": "tantai",
    "淳于": "chunyu",
    "钟离": "zhongli",
    "闾丘": "luqiu",
    "濮阳": "puyang",
    "公冶": "gongye",
    "太叔": "taishu",
    "宗政": "zongzheng",
    "拓跋": "tuoba",
    "呼延": "huyan",
    "乐正": "yuezheng",
    "子车": "ziju",
    "赫连": "helian",
}
