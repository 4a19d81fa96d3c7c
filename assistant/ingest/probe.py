"""Read one file as the indexer would, in a process of its own: ``python -m assistant.ingest.probe PATH``.

The administration page checks an upload with this before accepting it (web/uploads.py). A timer
stops the reading after ``ASSISTANT_PDF_SECONDS`` wherever it is, also within one page (the
extractor's own deadline is checked between pages), and the page kills the process if it does not
end in time; the server's threads never wait on the reader.
Exit 0: readable; exit 3: not readable, the reason on standard error.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path

from assistant.ingest.load import LoadError, read_document
from assistant.limits import ENV, limits


class TooSlow(BaseException):
    """Raised by the timer inside whatever the reader is doing (a BaseException: no reader swallows it)."""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m assistant.ingest.probe PATH", file=sys.stderr)
        return 2
    seconds = limits().pdf_seconds

    def too_slow(signum, frame):
        raise TooSlow(f"reading took longer than {seconds:g} s ({ENV['pdf_seconds']})")

    signal.signal(signal.SIGALRM, too_slow)       # the deadline counts from here, inside a page too
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        read_document(Path(args[0]))
    except (LoadError, TooSlow) as exc:
        print(str(exc), file=sys.stderr)
        return 3
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
