"""The scenario catalogue: classes, their flows and the example messages the classifier learns.

The catalogue is shipped data (``catalogue.yaml`` next to this module) that an operator may
replace with their own file; it is validated on load so a broken edit fails at start-up
with one line naming the file and the field.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_PATH = Path(__file__).with_name("catalogue.yaml")
MIN_EXAMPLES = 5
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(Exception):
    """A catalogue that cannot be used; the message names the file and the problem."""


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    flow: list[str] = Field(default_factory=list)
    examples: dict[str, list[str]]

    @field_validator("name")
    @classmethod
    def _snake_case(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"scenario name {name!r} must be snake_case")
        return name

    @field_validator("examples")
    @classmethod
    def _enough_examples(cls, examples: dict[str, list[str]]) -> dict[str, list[str]]:
        cleaned = {
            lang: [e.strip() for e in texts if e and e.strip()] for lang, texts in examples.items()
        }
        if sum(len(texts) for texts in cleaned.values()) < MIN_EXAMPLES:
            raise ValueError(f"needs at least {MIN_EXAMPLES} examples")
        return cleaned

    def all_examples(self) -> list[str]:
        return [text for texts in self.examples.values() for text in texts]


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    scenarios: list[Scenario] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique_names(self) -> Catalogue:
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.name in seen:
                raise ValueError(f"scenario {scenario.name!r} appears twice")
            seen.add(scenario.name)
        return self

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def get(self, name: str) -> Scenario:
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise KeyError(name)

    def training_pairs(self) -> tuple[list[str], list[str]]:
        texts: list[str] = []
        labels: list[str] = []
        for scenario in self.scenarios:
            for text in scenario.all_examples():
                texts.append(text)
                labels.append(scenario.name)
        return texts, labels


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Load and validate a catalogue file; the shipped one when ``path`` is None."""
    source = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"{source}: catalogue file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise CatalogueError(f"{source}: not valid YAML{where}: {problem}") from None
    try:
        return Catalogue.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise CatalogueError(f"{source}: {where}: {first['msg']}") from None
