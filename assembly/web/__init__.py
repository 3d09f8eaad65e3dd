"""The web layer shared by every feature: templates, dependencies, errors, security headers."""
