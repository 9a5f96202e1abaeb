"""Our own evaluation set, third probe store: Hedda Atelier (women's fashion: dresses, knitwear,
swimwear, lingerie in cup sizes, jewellery; limit 2,500 DKK, 30-day free returns,
Bring/DAO/Instabox/UPS, English first) and 114 conversations written as older, very polite
shoppers, one-word follow-ups, Danish/English switching, gift buyers, '#'/spaced order numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

from shopdesk.cli import main

DATA = Path(__file__).parent / "data" / "hedda"
SUMMARY = re.compile(
    r"cases (\d+) correct (\d+) \(([\d.]+)%\).*missed-escalations (\d+) false-escalations (\d+) \| leaks (\d+)"
)


def test_the_agent_answers_our_own_shoppers_of_a_fourth_store(capsys) -> None:
    code = main(["eval", "--store", str(DATA / "store.json"), "--cases", str(DATA / "cases.jsonl"),
                 "--concurrency", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = out.strip().splitlines()[-1]
    found = SUMMARY.search(summary)
    assert found, summary
    cases, correct, _, missed, false, leaks = (float(g) for g in found.groups())
    assert cases == 114
    assert leaks == 0, summary  # nobody's order shown to anyone else, ever
    assert missed == 0 and false <= 1, summary
    assert correct / cases >= 0.95, out[-3000:]
