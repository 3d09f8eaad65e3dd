"""Static files with cache headers: vendored files carry their version in their name and are kept for
a year; the rest (our CSS) are kept an hour and then revalidated with their ETag (a 304 is cheap)."""

from __future__ import annotations

import os

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

YEAR = "public, max-age=31536000, immutable"
HOUR = "public, max-age=3600"


class CachedStaticFiles(StaticFiles):
    def file_response(self, full_path: os.PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = YEAR if "/vendor/" in scope["path"] else HOUR
        return response
