"""Exit 0 when PostgreSQL answers at the URL given (used by `make test` to decide the PostgreSQL run)."""

import sys

import psycopg

url = sys.argv[1].replace("postgresql+psycopg://", "postgresql://")
try:
    psycopg.connect(url, connect_timeout=3).close()
except psycopg.Error:
    sys.exit(1)
