"""Account tools: password reset and newsletter. Neither says whether an account exists."""

from __future__ import annotations

from pydantic import BaseModel

from .base import ToolContext, ToolResult, tool


class EmailArgs(BaseModel):
    email: str


@tool("reset_password", EmailArgs)
async def reset_password(ctx: ToolContext, args: EmailArgs) -> ToolResult:
    """Send a password reset link to the email if an account exists there."""
    if await ctx.connector.customer_by_email(args.email):
        await ctx.connector.reset_password(args.email)
    ctx.record("reset_password", None)
    return ToolResult("ok", {"email": args.email})


@tool("unsubscribe", EmailArgs)
async def unsubscribe(ctx: ToolContext, args: EmailArgs) -> ToolResult:
    """Unsubscribe an email from the newsletter."""
    await ctx.connector.unsubscribe(args.email)
    ctx.record("unsubscribe", None)
    return ToolResult("ok", {"email": args.email})
