"""Shopper-facing texts: Jinja2 reply templates per scenario and language.

Templates live in ``templates/replies/<lang>/<name>.j2`` and short phrases (quick replies,
status lines) in ``templates/replies/phrases.yaml``, so an operator can reword any of
them without touching code.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, Template

MONTHS = {
    "da": ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
           "oktober", "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
}


def format_date(value: date | None, lang: str, this_year: int | None = None) -> str:
    """'29. november' / '29 November'; the year too when it is not the store's current one."""
    if value is None:
        return ""
    month = MONTHS[lang][value.month - 1]
    text = f"{value.day}. {month}" if lang == "da" else f"{value.day} {month}"
    if this_year is not None and value.year != this_year:
        text += f" {value.year}"
    return text


def format_money(value: float | None, lang: str, currency: str = "DKK") -> str:
    if value is None:
        return ""
    whole = value == int(value)
    if lang == "da":
        text = f"{value:,.0f}" if whole else f"{value:,.2f}"
        text = text.replace(",", "X").replace(".", ",").replace("X", ".")
        return f"{text} kr." if currency == "DKK" else f"{text} {currency}"
    text = f"{value:,.0f}" if whole else f"{value:,.2f}"
    return f"{text} {currency}"


class Replies:
    def __init__(self, templates_dir: Path, currency: str = "DKK", this_year: int | None = None) -> None:
        self.dir = templates_dir / "replies"
        self.currency = currency
        self.this_year = this_year
        self._envs: dict[str, Environment] = {}
        self._templates: dict[tuple[str, str], Template] = {}  # read once: no cache look-up per reply
        self.phrases: dict[str, dict[str, str]] = yaml.safe_load(
            (self.dir / "phrases.yaml").read_text(encoding="utf-8"))

    def _env(self, lang: str) -> Environment:
        env = self._envs.get(lang)
        if env is None:
            env = Environment(loader=FileSystemLoader(self.dir / lang), undefined=ChainableUndefined,
                              autoescape=False, trim_blocks=False, lstrip_blocks=True,
                              # templates are read once: no stat() of the file on every reply
                              auto_reload=False)
            env.filters["date"] = lambda v: format_date(v, lang, self.this_year)
            env.filters["money"] = lambda v: format_money(v, lang, self.currency)
            env.filters["days"] = lambda v: f"{v[0]}-{v[1]}" if v and v[0] != v[1] else f"{v[0] if v else ''}"
            env.filters["join_and"] = lambda items: _join(list(items), lang)
            self._envs[lang] = env
        return env

    def _template(self, lang: str, name: str) -> Template:
        key = (lang, name)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._env(lang).get_template(f"{name}.j2")
        return template

    def render(self, lang: str, name: str, **data: Any) -> str:
        text = _tidy(self._template(lang, name).render(**data))
        if not text:
            raise ValueError(f"reply template {lang}/{name}.j2 rendered nothing")
        return text

    def phrase(self, lang: str, key: str, **data: Any) -> str:
        entry = self.phrases[key]
        return (entry.get(lang) or entry["en"]).format(**data)


def _join(items: list[str], lang: str) -> str:
    word = " og " if lang == "da" else " and "
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + word + items[-1]


_DOUBLE_STOP = re.compile(r"(?<![.])\.\.(?![.])")
_BLANKS = re.compile(r"[ \t]+")


def _tidy(text: str) -> str:
    """Templates are written for reading; replies are one or two short paragraphs."""
    text = _DOUBLE_STOP.sub(".", text)  # "899 kr." at the end of a sentence
    lines = [_BLANKS.sub(" ", ln).strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln).strip()
