"""Our own evaluation set: a second store (Fjordling: kids' wear, knitwear, bags; other
limit, window, fees, carriers and language order than the demo store) and 174 shopper
conversations written for the project, run through ``shopdesk eval`` in-process.

Unlike the development sets in ../shared, these ship with the repository, so every clone
checks the offline agent against a store it was not built around.
"""

from __future__ import annotations

import re
from pathlib import Path

from shopdesk.cli import main

DATA = Path(__file__).parent / "data" / "fjordling"
SUMMARY = re.compile(
    r"cases (\d+) correct (\d+) \(([\d.]+)%\).*missed-escalations (\d+) false-escalations (\d+) \| leaks (\d+)"
)


def test_the_agent_answers_our_own_shoppers_of_another_store(capsys) -> None:
    code = main(["eval", "--store", str(DATA / "store.json"), "--cases", str(DATA / "cases.jsonl"),
                 "--concurrency", "4"])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = out.strip().splitlines()[-1]
    found = SUMMARY.search(summary)
    assert found, summary
    cases, correct, _, missed, false, leaks = (float(g) for g in found.groups())
    assert cases == 174
    assert leaks == 0, summary  # nobody's order shown to anyone else, ever
    assert missed == 0 and false <= 1, summary
    assert correct / cases >= 0.95, out[-3000:]
