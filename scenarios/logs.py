"""Where log lines go: always the *current* sys.stderr, looked up at each write.

Binding a logger to the sys.stderr object of the moment breaks as soon as something swaps it (pytest's
capture, a redirect): later writes hit a closed file. Standard output belongs to --json output.
"""

from __future__ import annotations

import sys


class CurrentStderr:
    """A file-like object that forwards to whatever sys.stderr is when it is written to."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


STDERR = CurrentStderr()
