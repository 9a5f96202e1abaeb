"""Build the storefront widget with no Node: widget/loader.js -> static/widget.js and
widget/chat.js -> static/chat.js.

The minifier is deliberately conservative. It removes comments and whitespace that cannot
matter, keeps every line break that automatic semicolon insertion might need, and copies
strings, template literals and regular expressions untouched. Names are not shortened.
A template literal right after a ``/*css*/`` comment is CSS and has its whitespace squeezed.

    python widget/build.py            # build into ./static and print sizes
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

OUTPUTS = {"loader.js": "widget.js", "chat.js": "chat.js"}

_WORD = re.compile(r"[A-Za-z0-9_$\\]")
# After these a "/" starts a regular expression, not a division.
_REGEX_AFTER_PUNCT = set("(,=:[!&|?{};+-*%~^<>")
_REGEX_AFTER_WORDS = {
    "return", "typeof", "case", "do", "else", "in", "instanceof", "new", "delete", "void",
    "throw", "yield", "await", "of",
}
# A line break after or before one of these can never end a statement by itself.
_JOIN_AFTER = set("{([,;:=&|?*%<>~^")
_JOIN_BEFORE = set("})],;:=&|?.*%<>")


class MinifyError(ValueError):
    """The source has something the minifier will not guess about (an unclosed string...)."""


def _scan_quoted(src: str, i: int, quote: str) -> int:
    """Index just past the string or regex body that starts at ``src[i] == quote``."""
    j, n, in_class = i + 1, len(src), False
    while j < n:
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if quote == "/" and c == "[":
            in_class = True
        elif quote == "/" and c == "]":
            in_class = False
        elif c == quote and not in_class:
            return j + 1
        elif c == "\n" and quote != "`":
            break
        j += 1
    raise MinifyError(f"unterminated {quote}-literal at offset {i}")


def _scan_template(src: str, i: int) -> int:
    """Index just past the template literal at ``src[i] == '`'``, nested ``${}`` included."""
    j, n = i + 1, len(src)
    while j < n:
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if c == "`":
            return j + 1
        if c == "$" and src.startswith("${", j):
            depth, j = 1, j + 2
            while j < n and depth:
                c = src[j]
                if c in "'\"":
                    j = _scan_quoted(src, j, c)
                    continue
                if c == "`":
                    j = _scan_template(src, j)
                    continue
                depth += {"{": 1, "}": -1}.get(c, 0)
                j += 1
            continue
        j += 1
    raise MinifyError(f"unterminated template literal at offset {i}")


def minify_css(css: str) -> str:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    css = re.sub(r"\s+", " ", css)
    css = re.sub(r"\s*([{};,>])\s*", r"\1", css)
    css = re.sub(r":\s+", ":", css)
    return css.replace(";}", "}").strip()


def _needs_space(prev: str, first: str) -> bool:
    """A space matters only between two word characters, or to keep "a - -b" apart."""
    return bool(_WORD.match(prev) and _WORD.match(first)) or (prev in "+-" and first in "+-")


def minify_js(src: str) -> str:
    out: list[str] = []
    i, n = 0, len(src)
    last = ""  # the last significant token's text, to tell a regex from a division
    css_next = False
    pending_space = pending_newline = False

    def emit(token: str) -> None:
        nonlocal pending_space, pending_newline, last
        prev = out[-1][-1] if out else ""
        first = token[0]
        if pending_newline and prev and prev not in _JOIN_AFTER and first not in _JOIN_BEFORE:
            out.append("\n")
        elif (pending_space or pending_newline) and prev and _needs_space(prev, first):
            out.append(" ")
        pending_space = pending_newline = False
        out.append(token)
        last = token

    while i < n:
        c = src[i]
        if c in " \t\r\n":
            j = i
            while j < n and src[j] in " \t\r\n":
                j += 1
            if "\n" in src[i:j]:
                pending_newline = True
            else:
                pending_space = True
            i = j
            continue
        if c == "/" and src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "/" and src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                raise MinifyError(f"unterminated comment at offset {i}")
            body = src[i + 2 : j]
            css_next = body.strip() == "css"
            if "\n" in body:
                pending_newline = True
            else:
                pending_space = True
            i = j + 2
            continue
        if c in "'\"":
            j = _scan_quoted(src, i, c)
            emit(src[i:j])
            i = j
            continue
        if c == "`":
            j = _scan_template(src, i)
            literal = src[i:j]
            if css_next and "${" not in literal:
                literal = "`" + minify_css(literal[1:-1]) + "`"
            css_next = False
            emit(literal)
            i = j
            continue
        if c == "/" and (not last or last[-1] in _REGEX_AFTER_PUNCT or last in _REGEX_AFTER_WORDS):
            j = _scan_quoted(src, i, "/")
            while j < n and src[j].isalpha():
                j += 1
            emit(src[i:j])
            i = j
            continue
        if _WORD.match(c):
            j = i
            while j < n and _WORD.match(src[j]):
                j += 1
            emit(src[i:j])
            i = j
            continue
        emit(c)
        i += 1
    return "".join(out) + "\n"


def sizes(data: bytes) -> dict[str, int]:
    return {"raw": len(data), "gzip": len(gzip.compress(data, compresslevel=9, mtime=0))}


def stale(widget_dir: Path, static_dir: Path) -> bool:
    """True if an output is missing or older than its source or this build script."""
    newest_input = Path(__file__).stat().st_mtime
    for source, target in OUTPUTS.items():
        out = Path(static_dir) / target
        if not out.exists():
            return True
        if out.stat().st_mtime < max(newest_input, (Path(widget_dir) / source).stat().st_mtime):
            return True
    return False


def build(widget_dir: Path, static_dir: Path) -> dict[str, dict[str, int]]:
    """Minify the widget sources into ``static_dir``; returns raw and gzipped sizes per file."""
    static_dir = Path(static_dir)
    static_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, dict[str, int]] = {}
    for source, target in OUTPUTS.items():
        code = minify_js((Path(widget_dir) / source).read_text(encoding="utf-8")).encode("utf-8")
        tmp = static_dir / f".{target}.tmp"
        tmp.write_bytes(code)
        tmp.replace(static_dir / target)
        report[target] = sizes(code)
    return report


def ensure_built(widget_dir: Path, static_dir: Path) -> dict[str, dict[str, int]] | None:
    """Build only if the outputs are missing or stale (for server start-up)."""
    return build(widget_dir, static_dir) if stale(widget_dir, static_dir) else None


def main() -> int:
    here = Path(__file__).resolve().parent
    static_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "static"
    for name, size in build(here, static_dir).items():
        print(f"{name:<10} {size['raw']:>7,} bytes raw  {size['gzip']:>6,} bytes gzipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
