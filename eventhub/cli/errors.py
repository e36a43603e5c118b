"""The command line's failures: a CliError carries one readable line and its exit code, and
``reported`` turns it into a red line on stderr and that exit code.

Exit codes: 0 success, 1 a failure of the hub or the network, 2 bad input (a bad option, a bad
time range, a 422 from the API), 3 missing or refused credentials (401), 4 not found (404).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer
from rich.markup import escape

from eventhub.cli.rendering import err

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4


class CliError(Exception):
    """A failure to report in one readable line, with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def reported(command: Callable[..., None]) -> Callable[..., None]:
    """Turn a CliError into one red line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except CliError as error:
            err.print(f"[bold red]error:[/bold red] {escape(error.message)}")
            raise typer.Exit(error.exit_code) from None

    return wrapper
