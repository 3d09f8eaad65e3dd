"""An in-process client of the real application over a migrated database of the test's own."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def app(engine_copy):
    from assembly.app import create_app
    from assembly.config import get_settings

    get_settings.cache_clear()
    return create_app(settings=get_settings(), engine=engine_copy)


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
