"""The message catalogue: every text in both languages, with the same placeholders."""

import string

from siting.i18n import MESSAGES, t, texts


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_and_the_same_placeholders():
    bad = {k: v for k, v in MESSAGES.items() if len(v) != 2 or not all(isinstance(x, str) and x.strip() for x in v)}
    assert not bad
    mismatched = {k: (_fields(zh), _fields(en)) for k, (zh, en) in MESSAGES.items() if _fields(zh) != _fields(en)}
    assert not mismatched


def test_texts_strips_the_prefix_and_t_formats():
    brief = texts("brief", "en")
    assert brief["h_annex"] == "Annex: methods and parameters" and "brief.h_annex" not in brief
    assert t("map.summary", "zh", per=3.4912, target=4.72, flagged=448, sites=10) == \
        "每千人口托位 3.49（目标 4.72）；问题小区 448 个；建议点位 10 个"
