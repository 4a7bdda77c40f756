"""The app's style sheet: rules for a state (:default, :hover, :focus…) change colours and
borders, never the font. Qt sizes a widget in its plain font; a bold default button painted its
text wider than that and lost both ends ("Ise this serve" in Connect to a server…, "lse gpt-oss's
defaults" in Settings)."""

from __future__ import annotations

import re

import pytest

from app.ui.theme import DARK, LIGHT, stylesheet

STATE = re.compile(r":(default|hover|focus|pressed|checked|selected|disabled)\b")


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_no_state_rule_changes_the_font(theme) -> None:  # type: ignore[no-untyped-def]
    sheet = re.sub(r"/\*.*?\*/", "", stylesheet(theme), flags=re.DOTALL)
    offenders = [
        selectors.strip()
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", sheet)
        if STATE.search(selectors) and re.search(r"\bfont(-weight|-size|-family)?\s*:", body)
    ]
    assert offenders == []
