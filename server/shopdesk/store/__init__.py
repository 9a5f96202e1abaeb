"""Store connectors: live lookups and actions in the shop's systems."""
