"""Personal data kept no longer than needed: former owners' names and phones (docs/security.md)."""
