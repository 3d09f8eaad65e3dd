"""Builders for the register tests: an estate to import into, register files, a CLI on a test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from assembly.register.estates import onboard_estate
from assembly.register.models import Estate


def create_estate(session: Session, code: str = "e1", *, name: str | None = None) -> Estate:
    """An estate with its own district, street office and community; flushed, not committed."""
    return onboard_estate(
        session, code=code, name=name or f"小区 {code}", district=f"区 {code}", street_office=f"街道 {code}",
        community=f"社区 {code}", residents_committee=f"居委会 {code}",
    )


@pytest.fixture
def estate(session: Session) -> Estate:
    return create_estate(session)


@pytest.fixture
def cli_engine(engine_copy: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The `assembly` command pointed at the test's own database through ASSEMBLY_DATABASE_URL,
    with an estate `e1` committed in it."""
    from assembly.config import get_settings
    from assembly.runtime import get_engine

    monkeypatch.setenv("ASSEMBLY_DATABASE_URL", engine_copy.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    with Session(engine_copy) as session:
        create_estate(session, "e1")
        session.commit()
    yield engine_copy
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()
