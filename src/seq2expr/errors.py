"""The one exception type that the commands turn into a one-line message.

Bad input is the user's problem to fix, so the message must say which file, which line and what
was expected; a traceback would only hide that. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

#: How many of a ledger's reasons a `NothingKept` message names (the largest counts); the rest are summed.
TOP_REASONS = 3


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


def top_reasons(reasons: Iterable[str], limit: int = TOP_REASONS) -> str:
    """`'497 biotype_not_selected, 3 chromosome_missing'`: how many times each reason occurs, largest first.

    When a step keeps nothing, these counts are the diagnosis; they used to be only in the step's
    log, while the error came from the next step. Ties are broken by name, so the line is the same
    on every run; reasons past `limit` are summed so that the line stays one line.
    """
    counts = sorted(Counter(reasons).items(), key=lambda item: (-item[1], item[0]))
    if not counts:
        return "nothing was set aside either (empty input)"
    shown = [f"{count} {reason}" for reason, count in counts[:limit]]
    rest = counts[limit:]
    if rest:
        shown.append(f"{sum(count for _, count in rest)} for {len(rest)} other reason(s)")
    return ", ".join(shown)


class NothingKept(InputError):
    """A step's output would be empty, or lack a part a later step needs (all test genes, say).

    Raised by the function that makes the output, so the pipeline stops at the step where the genes
    were lost, with the reasons (a ledger's, or the parts' counts) on the one error line, rather
    than at the next step with an empty-file error that hides them.
    """

    def __init__(self, what: str, reasons: Iterable[str], hint: str = "", path: str | Path | None = None) -> None:
        self.counts = Counter(reasons)
        message = f"{what}: {top_reasons(self.counts.elements())}"
        super().__init__(f"{message}; {hint}" if hint else message, path)
