"""The tools: one function per capability the support policy names."""

from . import account, catalogue, orders, promotions, returns, store  # noqa: F401  (registers)
from .base import REGISTRY, ToolContext, ToolResult, ToolSpec, call

__all__ = ["REGISTRY", "ToolContext", "ToolResult", "ToolSpec", "call"]
