"""All configuration, read once from the environment (``SHOPDESK_`` prefix)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_STORE = Path(__file__).resolve().parent / "store" / "demo-store.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPDESK_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/shopdesk.db"
    store: Path = DEMO_STORE
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    identity_secret: str = "change-me-identity-secret"
    agent: Literal["offline", "claude"] = "offline"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    session_secret: str = "change-me-session-secret"
    templates_dir: Path = PROJECT_ROOT / "templates"
    static_dir: Path = PROJECT_ROOT / "static"
    widget_dir: Path = PROJECT_ROOT / "widget"
    catalogue: Path | None = None
    confidence_threshold: float = 0.45

    # Protocol limits (protocol v1 fixes the frame and message sizes).
    max_frame_bytes: int = 16 * 1024
    max_message_chars: int = 2000
    rate_limit_messages: int = 10
    rate_limit_window_s: float = 10.0
    reply_chunk_chars: int = 160  # a whole reply goes out in pieces of about this size

    # Hand-over outbox: how often it looks for work, and the longest wait between retries.
    outbox_poll_s: float = 2.0
    outbox_max_backoff_s: float = 60.0
    # A delivery in progress holds its row this long; a process killed mid-delivery
    # leaves it to others after the lease (the idempotency key keeps it to one ticket).
    outbox_lease_s: float = 30.0

    # Email to shoppers (built-in inbox): a person's reply that the shopper's widget did not
    # show within ``mail_grace_s`` goes to the address they gave. Without ``smtp_url``, the
    # reply waits for their next visit. See ``mail.SmtpConfig`` for the URL's options.
    smtp_url: str | None = None        # smtp://user:pass@host:587 (STARTTLS), smtps://host:465
    mail_from: str | None = None       # default: the store's name and support_email
    mail_grace_s: float = 60.0

    # Outside services.
    redis_url: str | None = None
    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_token: str | None = None
    zendesk_webhook_secret: str | None = None
    anthropic_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "SHOPDESK_ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "SHOPDESK_ANTHROPIC_BASE_URL")
    )
    claude_model: str = "claude-sonnet-5-5"
    claude_max_tokens: int = 1024
    claude_max_steps: int = 6              # model calls per shopper message
    claude_first_token_budget_s: float = 8.0  # retries stop when no token came for this long
    claude_timeout_s: float = 60.0         # one request, start to end (a backstop)
    llm_personal_data: Literal["redact", "allow"] = "redact"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value
