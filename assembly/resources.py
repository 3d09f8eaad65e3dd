"""Where the non-Python parts live: `web/` and `alembic/` in a checkout, bundled in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE.parent / name, _PACKAGE / f"_{name}"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"{name}/ is missing from the installation")


def web_dir() -> Path:
    return _find("web")


def migrations_dir() -> Path:
    return _find("alembic")
