"""shopdesk: a self-hosted AI support agent for online shops."""

__version__ = "0.1.0"
