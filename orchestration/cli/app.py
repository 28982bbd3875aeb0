"""The typer application and the error handling every command shares."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

app = typer.Typer(
    name="partnerscore",
    help="Objective, explainable channel-partner scores on DuckDB.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """An error a person can fix: printed as one line plus a hint, never a traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def friendly_errors(func: F) -> F:
    """Turn UserError (and other expected failures) into one clear line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            if exc.hint:
                err_console.print(f"[dim]hint:[/] {exc.hint}")
            sys.exit(1)
        except Exception as exc:  # an unexpected failure: still one line, traceback on request
            if os.environ.get("PARTNERSCORE_DEBUG"):
                raise
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}")
            err_console.print("[dim]hint:[/] rerun with PARTNERSCORE_DEBUG=1 to see the traceback")
            sys.exit(2)

    return wrapper  # type: ignore[return-value]
