"""QR codes as runs of dark modules, for drawing them as vectors (PDF card sheets, inline SVG)."""

from __future__ import annotations

from collections.abc import Iterator

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def dark_runs(content: str) -> tuple[int, Iterator[tuple[int, int, int]]]:
    """(modules per side, runs of (row, first column, length) of dark modules), no quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(content)
    code.make(fit=True)
    matrix = code.get_matrix()

    def runs() -> Iterator[tuple[int, int, int]]:
        for row, cells in enumerate(matrix):
            column = 0
            while column < len(cells):
                if not cells[column]:
                    column += 1
                    continue
                start = column
                while column < len(cells) and cells[column]:
                    column += 1
                yield row, start, column - start

    return len(matrix), runs()
