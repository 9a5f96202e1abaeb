"""Builds the widget's served files from ``widget/`` when they are missing or stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def ensure_built(widget_dir: Path, static_dir: Path) -> None:
    """Run ``widget/build.py``'s own staleness check and build (no node needed)."""
    script = widget_dir / "build.py"
    if not script.exists():
        return
    spec = importlib.util.spec_from_file_location("shopdesk_widget_build", script)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ensure_built(widget_dir, static_dir)
