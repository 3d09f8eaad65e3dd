"""Fixtures for the audit tests: fixed keys (deterministic Ed25519), the RFC 6962 vectors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from assembly.audit.cosign import Cosigner
from assembly.audit.note import Ed25519Signer

from .builders import ORIGIN

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VECTORS = PROJECT_ROOT / ".." / "shared" / "vectors" / "transparency-dev-merkle" / "testdata"


def seed(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@pytest.fixture
def log_signer() -> Ed25519Signer:
    return Ed25519Signer(ORIGIN, seed("log"))


@pytest.fixture
def other_signer() -> Ed25519Signer:
    """Same name as the log, another key: what an impostor re-signing the log would hold."""
    return Ed25519Signer(ORIGIN, seed("impostor"))


@pytest.fixture
def cosigner() -> Cosigner:
    return Cosigner("observer.example/w1", seed("witness"))


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The transparency-dev/merkle testdata, read in place; a failure in CI if it is missing."""
    if not VECTORS.is_dir():
        reason = f"RFC 6962 test vectors not found at {VECTORS.resolve()} (shared/vectors missing)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return VECTORS
