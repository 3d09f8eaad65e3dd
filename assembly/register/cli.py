"""`assembly register import|show` — the owner register from the command line."""

from __future__ import annotations

import typer

register_app = typer.Typer(help="业主名册 / owner register", no_args_is_help=True)
