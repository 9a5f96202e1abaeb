"""What the widget costs a shop's page: bytes of the loader and of loader + chat panel.

Builds widget/ into a temporary directory (the same build the server serves) and prints
raw and gzipped sizes against the budget. Exits 1 if over budget.

    python bench/widget_weight.py
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOADER_BUDGET_GZ = 3 * 1024
TOTAL_BUDGET_GZ = 20 * 1024
# Typical first-load JavaScript of common hosted chat widgets, for scale.
TYPICAL_WIDGET = (100 * 1024, 500 * 1024)


def _load_build():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("widget_build", ROOT / "widget" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kb(n: int) -> str:
    return f"{n / 1024:6.1f} KB"


def main() -> int:
    build = _load_build()
    with tempfile.TemporaryDirectory() as out:
        sizes = build.build(ROOT / "widget", Path(out))
    loader, chat = sizes["widget.js"], sizes["chat.js"]
    total = {k: loader[k] + chat[k] for k in ("raw", "gzip")}
    rows = [
        ("loader (widget.js)", loader, LOADER_BUDGET_GZ),
        ("loader + chat.js", total, TOTAL_BUDGET_GZ),
    ]
    print(f"{'':<20} {'raw':>10} {'gzipped':>10} {'budget (gz)':>12}  verdict")
    over = False
    for name, size, budget in rows:
        ok = size["gzip"] <= budget
        over |= not ok
        print(f"{name:<20} {kb(size['raw']):>10} {kb(size['gzip']):>10} {kb(budget):>12}  "
              f"{'ok' if ok else 'OVER BUDGET'} ({size['gzip'] / budget:.0%} of budget)")
    low, high = TYPICAL_WIDGET
    print()
    print(f"Page load before the shopper clicks: {kb(loader['gzip']).strip()} gzipped "
          f"(the chat panel loads on first click).")
    print(f"Typical hosted chat widgets load {low // 1024}-{high // 1024} KB of JavaScript up front: "
          f"the loader is {low / max(loader['gzip'], 1):.0f}-{high / max(loader['gzip'], 1):.0f}x smaller, "
          f"loader + chat {low / max(total['gzip'], 1):.0f}-{high / max(total['gzip'], 1):.0f}x smaller.")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
