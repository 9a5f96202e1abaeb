"""Our own evaluation sets: stores of our own and shopper conversations written for the
project, run through ``shopdesk eval`` in-process. Unlike the development sets in ../shared
they ship with the repository, so every clone checks the offline agent against stores it
was not built around:

- fjordling: kids' wear, knitwear, bags; 174 conversations;
- rask: menswear, sportswear, shoes, a watch; limit 3,000 DKK, 14-day returns with a fee,
  Danish first; 186 conversations written phone-style (no æøå, typos, stories,
  corrections, two requests in one message, injections);
- hedda: women's fashion with cup sizes and jewellery; limit 2,500 DKK, 30-day free
  returns, English first; 114 conversations of polite, long-winded shoppers, one-word
  follow-ups, Danish/English switching, gift buyers, '#'/spaced order numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shopdesk.cli import main

DATA = Path(__file__).parent / "data"
SUMMARY = re.compile(
    r"cases (\d+) correct (\d+) \(([\d.]+)%\).*missed-escalations (\d+) false-escalations (\d+) \| leaks (\d+)"
)


@pytest.mark.parametrize(("store", "conversations"), [("fjordling", 174), ("rask", 186), ("hedda", 114)])
def test_the_agent_answers_our_own_shoppers_of_another_store(capsys, store: str, conversations: int) -> None:
    code = main(["eval", "--store", str(DATA / store / "store.json"),
                 "--cases", str(DATA / store / "cases.jsonl"), "--concurrency", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = out.strip().splitlines()[-1]
    found = SUMMARY.search(summary)
    assert found, summary
    cases, correct, _, missed, false, leaks = (float(g) for g in found.groups())
    assert cases == conversations
    assert leaks == 0, summary  # nobody's order shown to anyone else, ever
    assert missed == 0 and false <= 1, summary
    assert correct / cases >= 0.95, out[-3000:]
