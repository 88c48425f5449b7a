"""Logging of the standalone server: one line per request, cheaply.

The access log (``s3server.access``, one line per request) runs on every request of
the server, so its cost shows in small-object throughput: under a 4 KiB GET load
logging was about a tenth of the server's CPU (bench/results). ``configure`` sets the
process up as the logging HOWTO's "Optimization" section suggests for a process that
logs a lot, and formats each second's timestamp once.
"""

from __future__ import annotations

import logging
import time

__all__ = ["configure"]

FORMAT = "%(asctime)s %(message)s"


class _Formatter(logging.Formatter):
    """``asctime`` as the default formatter writes it, strftime once a second."""

    _cached: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached_second, text = self._cached
        if second != cached_second:
            text = time.strftime(self.default_time_format, self.converter(second))
            self._cached = (second, text)
        return f"{text},{int(record.msecs):03d}"  # default_msec_format


def configure(level: int = logging.INFO) -> None:
    """Log to standard error at ``level``, with the fast formatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    # What a LogRecord would otherwise compute for every line and FORMAT never
    # shows: the caller's file and line (a stack walk), thread, process names.
    logging._srcfile = None  # private, but the HOWTO documents setting it
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
