"""The `assembly` command: serve, db, demo, register, tally (and audit, later)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Assembly 业主共同决策平台", no_args_is_help=True, add_completion=False)


@app.command()
def tally(file: Path = typer.Argument(..., help="an assembly-tally/1 JSON file")) -> None:
    """Recount one motion or election from a tally file (shared/spec/tally-format.md)."""
    from assembly.voting import tally as tally_file

    raise typer.Exit(tally_file.main(file))


if __name__ == "__main__":  # pragma: no cover
    app()
