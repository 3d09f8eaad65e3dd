"""What is wrong with a register file, and where: the report an import refuses with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from assembly.errors import InvalidInput

FILE = 0  # Problem.row for problems of the whole file rather than of one row


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong where: `row` as a spreadsheet shows it (header = 1; 0 = the whole file),
    `column` the header as written in the file, `message` and `expected` each "中文 / English"."""

    row: int
    column: str
    message: str
    expected: str


class RegisterFileError(InvalidInput):
    """The register file cannot be imported; `problems` lists every reason."""

    code = "register_invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.row)
        count = len(self.problems)
        super().__init__(
            f"名册文件有 {count} 处问题，未导入 / the register file has {count} problem(s); nothing was imported",
            detail=[asdict(problem) for problem in self.problems],
        )
