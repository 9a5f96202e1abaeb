"""``shopdesk eval``: the case file, the matchers, and a run against the demo store in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from shopdesk.cli import main
from shopdesk.evaluation import EvalError, load_cases
from shopdesk.evaluation_match import compile_alternative, matches
from shopdesk.settings import DEMO_STORE

SUMMARY = re.compile(
    r"^cases (\d+) correct (\d+) \(([\d.]+)%\) \| resolvable (\d+) resolved (\d+)"
    r" \| must-escalate (\d+) escalated (\d+) right-reason (\d+)"
    r" \| missed-escalations (\d+) false-escalations (\d+) \| leaks (\d+)"
    r" \| first-delta p50 (\d+) ms p95 (\d+) ms$"
)


def case(id: str, turns: list[str], outcome: str = "resolved", reason: str | None = None,
         include: list | None = None, exclude: list | None = None, note: str = "",
         lang: str = "en", customer: dict | None = None) -> dict:
    expect: dict = {"outcome": outcome, "include": include or [], "exclude": exclude or []}
    if reason:
        expect["reason"] = reason
    return {"id": id, "lang": lang, "scenario": "other", "customer": customer, "page": None,
            "turns": turns, "expect": expect, "note": note}


def write_cases(path: Path, cases: list[dict]) -> Path:
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    return path


STATUS = "Where is order 1003? anna@example.dk"  # DEMO.md: PostNord, 00370730254400031007, 29 Nov
HUMAN = "can I talk to a human"

CASES = [
    # right: status with carrier, tracking number and date
    case("status-ok", [STATUS], include=[["PostNord"], ["00370730254400031007"], [{"date": "2026-11-29"}]],
         exclude=["1013", {"date": "2026-11-30"}]),
    # right: asked for a person, handed over for that reason
    case("human-ok", [HUMAN], "escalated", "customer_request"),
    # right: a logged-in shopper (signed identity) gets one of her orders without giving one
    case("logged-in", ["Hvor er min pakke?"], lang="da",
         customer={"email": "anna@example.dk", "name": "Anna"}, include=[["1003", "1013", "1019"]]),
    # wrong: an include group that cannot match
    case("status-dhl", [STATUS], include=[["PostNord"], ["DHL Express"]]),
    # wrong and a leak: the agent says what the case forbids in a LEAK case
    case("status-leak", [STATUS], exclude=["00370730254400031007"], note="LEAK: a forced one"),
    # wrong: a missed escalation
    case("status-missed", [STATUS], "escalated", "policy"),
    # wrong: a false escalation
    case("human-false", [HUMAN], "resolved"),
    # wrong: escalated, but for another reason than expected
    case("human-reason", [HUMAN], "escalated", "negative_sentiment"),
]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["eval", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_against_the_demo_store(tmp_path, capsys):
    cases = write_cases(tmp_path / "cases.jsonl", CASES)
    code, out, err = run_cli(capsys, "--store", str(DEMO_STORE), "--cases", str(cases), "--concurrency", "3")
    assert code == 0, err
    lines = out.strip().splitlines()
    found = SUMMARY.match(lines[-1])
    assert found, out
    (n, correct, pct, resolvable, resolved, must, escalated, right,
     missed, false, leaks, p50, p95) = found.groups()
    assert (n, correct, pct) == ("8", "3", "37.5"), out
    assert (resolvable, resolved) == ("5", "2"), out
    assert (must, escalated, right) == ("3", "2", "1"), out
    assert (missed, false, leaks) == ("1", "1", "1"), out
    assert 0 < int(p50) <= int(p95) < 30_000

    failures = {line.split(" | ")[0].removeprefix("FAIL "): line for line in lines if line.startswith("FAIL ")}
    assert set(failures) == {"status-dhl", "status-leak", "status-missed", "human-false", "human-reason"}
    assert 'include failed: #2 ["DHL Express"]' in failures["status-dhl"]
    assert "#1" not in failures["status-dhl"]
    assert 'leak: ["00370730254400031007"]' in failures["status-leak"]
    assert "expected escalated/policy | got resolved" in failures["status-missed"]
    assert "expected resolved | got escalated/customer_request" in failures["human-false"]
    assert "expected escalated/negative_sentiment | got escalated/customer_request" in failures["human-reason"]
    assert "text: " in failures["status-dhl"] and "PostNord" in failures["status-dhl"]


def test_only_and_verbose(tmp_path, capsys):
    cases = write_cases(tmp_path / "cases.jsonl", CASES)
    code, out, _ = run_cli(capsys, "--store", str(DEMO_STORE), "--cases", str(cases),
                           "--only", "human-ok", "--verbose")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[-1].startswith("cases 1 correct 1 (100.0%) | resolvable 0 resolved 0 | must-escalate 1 ")
    frames = [line for line in lines if line.startswith("[human-ok] ")]
    assert any('-> {"type": "hello"' in line for line in frames)
    assert any('<- {"type": "handoff"' in line for line in frames)
    assert not any("status-ok" in line for line in lines)


@pytest.mark.parametrize("content,line,message", [
    ('{"id": "a", "turns": ["hi"], "expect": {"outcome": "resolved"}}\n{"id": "b", "turns": [\n', 2, "bad JSON"),
    ('\n{"id": "a", "expect": {"outcome": "resolved"}}\n', 2, "missing field 'turns'"),
    ('{"id": "a", "turns": ["hi"]}\n', 1, "missing field 'expect'"),
    ('{"id": "a", "turns": ["hi"], "expect": {"include": []}}\n', 1, "expect.outcome"),
    ('{"id": "a", "turns": ["hi"], "expect": {"outcome": "maybe"}}\n', 1, "expect.outcome"),
    ('{"id": "a", "turns": ["hi"], "expect": {"outcome": "resolved", "include": [[{"re": "("}]]}}\n', 1,
     "bad regular expression"),
    ('{"id": "a", "turns": ["hi"], "expect": {"outcome": "resolved", "exclude": [{"date": "26/11"}]}}\n', 1,
     "YYYY-MM-DD"),
    ('{"id": "a", "turns": ["hi"], "expect": {"outcome": "resolved"}}\n' * 2, 2, "already used on line 1"),
])
def test_bad_case_file_is_one_line_naming_file_and_line(tmp_path, capsys, content, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    code, out, err = run_cli(capsys, "--store", str(DEMO_STORE), "--cases", str(path))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert f"{path}:{line}:" in err and message in err, err


def test_missing_case_file_and_unknown_only(tmp_path, capsys):
    code, _, err = run_cli(capsys, "--store", str(DEMO_STORE), "--cases", str(tmp_path / "nope.jsonl"))
    assert code == 2 and "nope.jsonl" in err and len(err.strip().splitlines()) == 1
    cases = write_cases(tmp_path / "cases.jsonl", CASES[:1])
    code, _, err = run_cli(capsys, "--store", str(DEMO_STORE), "--cases", str(cases), "--only", "zzz")
    assert code == 2 and "zzz" in err


def test_load_cases_reads_the_format(tmp_path):
    path = write_cases(tmp_path / "c.jsonl", [
        case("x", ["a", "b"], "escalated", "policy", include=[["GLS", {"amount": 39}]],
             exclude=[{"re": r"\b1043\b"}], note="LEAK: other shopper",
             customer={"email": "a@b.dk", "name": "A"})])
    (loaded,) = load_cases(path)
    assert loaded.id == "x" and loaded.turns == ["a", "b"] and loaded.reason == "policy"
    assert loaded.is_leak_case and loaded.line == 1
    assert len(loaded.include) == 1 and len(loaded.include[0]) == 2 and len(loaded.exclude) == 1
    with pytest.raises(EvalError):
        load_cases(tmp_path / "missing.jsonl")


# -- matchers ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "2499", "2499 kr", "2499 kr.", "2.499 kr.", "2,499 DKK", "2 499 kr", "2\u00a0499 kr", "DKK 2,499",
    "2.499,00 kr.", "2,499.00", "2499,00", "2499.00 DKK", "2.499,-", "kr. 2.499", "(2499)", "it costs 2499.",
])
def test_amount_matches(text):
    assert matches({"amount": 2499}, f"The total is {text} today")


@pytest.mark.parametrize("text", [
    "12499", "12.499 kr", "12 499 kr", "12,499", "2 499 000", "1 002 499", "24990", "2499,50", "2.4990", "2,49", "249", "2499.5 kr", "3499",
])
def test_amount_does_not_match(text):
    assert not matches({"amount": 2499}, f"The total is {text} today")


@pytest.mark.parametrize("amount,text,expected", [
    (39, "returgebyret er 39 kr.", True),
    (39, "returgebyret er 139 kr.", False),
    (39, "39,5 kr", False),
    (499, "2 499 kr", False),
    (499, "ordre 1043: 499 kr", True),
    (499, "ordre 1043 499 kr", True),
    (499, "499 000 kr", False),
    (1043, "ordre 1043 499 kr", True),
    (25, "1 25 kr", True),
    (1094.8, "1.094,80 kr", True),
    (1094.8, "1094,8", True),
    (1094.8, "1,094.80", True),
    (1094.8, "1094 kr", False),
    (960.65, "960,65 kr", True),
    (960.65, "960,66 kr", False),
    (1500, "1 500 kr", True),
    (1500, "1,5 kr", False),
])
def test_amount_variants(amount, text, expected):
    assert matches({"amount": amount}, text) is expected


@pytest.mark.parametrize("text", [
    "2026-11-26", "26/11", "26.11", "26.11.", "26/11/2026", "26.11.2026", "26-11-2026", "26. november",
    "26 november", "26 November", "november 26", "November 26, 2026", "Nov 26", "Nov. 26th", "26 Nov",
    "26. nov.", "26th of November", "den 26. november 2026", "26.november",
])
def test_date_matches(text):
    assert matches({"date": "2026-11-26"}, f"Expected delivery: {text}, probably.")


@pytest.mark.parametrize("text", [
    "26/12", "26.12", "126/11", "2026-11-27", "27. november", "26 december", "Dec 26", "november 2026",
    "26. november 2027", "26.11.2027", "november 27", "6. november", "Nov 2",
])
def test_date_does_not_match(text):
    assert not matches({"date": "2026-11-26"}, f"Expected delivery: {text}, probably.")


@pytest.mark.parametrize("iso,text,expected", [
    ("2026-11-26", "24/11-26/11", True),
    ("2026-11-24", "24/11-26/11", True),
    ("2026-11-25", "24/11-26/11", False),
    ("2026-12-01", "1. december", True),
    ("2026-12-01", "01.12", True),
    ("2026-12-01", "1/12", True),
    ("2026-12-01", "Dec 1st", True),
    ("2026-12-01", "11. december", False),
    ("2026-12-01", "21/12", False),
    ("2026-02-01", "1-2 hverdage", False),
    ("2026-03-05", "5. marts", True),
    ("2026-03-05", "5 Mar", True),
    ("2026-03-05", "5 markets", False),
    ("2026-10-05", "5. okt.", True),
    ("2026-10-05", "October 5", True),
    ("2026-05-05", "5. maj", True),
    ("2026-05-05", "May 5th", True),
    ("2027-12-31", "gyldigt til 31. december 2027", True),
    ("2027-12-31", "gyldigt til 31. december 2026", False),
])
def test_date_variants(iso, text, expected):
    assert matches({"date": iso}, text) is expected


def test_strings_and_regexes():
    assert matches("GLS  PakkeShop", "Din pakke ligger i en gls\npakkeshop")
    assert matches("Ærme", "ÆRME")
    assert not matches("PostNord", "Post Nord")
    assert matches({"re": r"\b3\s*(?:-|–|til|to)\s*5\b"}, "3-5 banking days")
    assert matches({"re": "postnord"}, "PostNord")
    assert not matches({"re": r"(?-i:\bL\b)"}, "size l")
    assert matches({"re": r"(?-i:\bL\b)"}, "size L")
    assert not matches({"re": r"\b40\b"}, "1400")


@pytest.mark.parametrize("spec", ["", "   ", {"amount": "many"}, {"amount": True}, {"date": "2026-13-01"},
                                  {"re": "("}, {"foo": 1}, {"amount": 1, "date": "2026-01-01"}, 12, None])
def test_bad_alternatives(spec):
    with pytest.raises(ValueError):
        compile_alternative(spec)
