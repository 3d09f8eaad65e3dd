"""Shared model base: the metadata naming convention, UTC timestamps, and the full table list."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def load_all_models() -> type[SQLModel]:
    """Import every feature's tables so that SQLModel.metadata is complete (Alembic, tests)."""
    import assembly.audit.models  # noqa: F401
    import assembly.auth.models  # noqa: F401
    import assembly.auth.screen_login  # noqa: F401
    import assembly.notify.models  # noqa: F401
    import assembly.notify.owner_models  # noqa: F401
    import assembly.register.models  # noqa: F401
    import assembly.register.voter_models  # noqa: F401
    import assembly.voting.attachment_models  # noqa: F401
    import assembly.voting.legal_hold_models  # noqa: F401
    import assembly.voting.models  # noqa: F401
    import assembly.voting.paper_models  # noqa: F401
    import assembly.voting.posting_models  # noqa: F401
    import assembly.voting.proxy_models  # noqa: F401
    import assembly.voting.transfer_models  # noqa: F401

    return SQLModel
