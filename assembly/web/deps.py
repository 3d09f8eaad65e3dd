"""Dependencies shared by routes: the database session of a request (one transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from assembly.db import read_only


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed once at the end, rolled back on any error.

    Safe methods get a deferred transaction on SQLite (readers never wait for the write lock).
    """
    engine = request.app.state.engine
    if request.method in ("GET", "HEAD", "OPTIONS"):
        engine = read_only(engine)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# scope="function": commit before the response is sent, so a failed commit is never a false success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
