"""Builds the widget's served files from ``widget/`` when they are missing or stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)
OUTPUTS = {"loader.js": "widget.js", "chat.js": "chat.js"}


def ensure_built(widget_dir: Path, static_dir: Path) -> None:
    sources = [widget_dir / src for src in OUTPUTS]
    if not all(p.exists() for p in sources):
        return
    outputs = [static_dir / out for out in OUTPUTS.values()]
    newest_source = max(p.stat().st_mtime for p in [*sources, widget_dir / "build.py"] if p.exists())
    if all(p.exists() and p.stat().st_mtime >= newest_source for p in outputs):
        return
    spec = importlib.util.spec_from_file_location("shopdesk_widget_build", widget_dir / "build.py")
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sizes = module.build(widget_dir, static_dir)
    log.info("widget.built", sizes=sizes)
