"""The one exception type that the commands turn into a one-line message.

Bad input is the user's problem to fix, so the message must say which file, which line and what
was expected; a traceback would only hide that. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: a file, an option or a combination of them that the pipeline cannot use."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = message
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}, line {self.line}"
            where += ": "
        return f"{where}{self.reason}"
