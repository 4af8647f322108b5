"""Logging set-up: text or JSON lines on stderr.

What is logged is chosen so that no password, secret, code or token can appear: the access log has
no query strings, errors log the exception type and a fixed message, never request values.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Literal

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(log_format: Literal["text", "json"], level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Our formats use none of the caller's file and line, thread or process: skip collecting them for
    # every record (the logging HOWTO's "Optimization"; the access log writes one record per request).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root.setLevel(level)
    # uvicorn's own access log prints query strings; ours (web.middleware) does not.
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic narrates every connection ("Context impl ..."); only its warnings are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # At DEBUG aiosqlite logs every statement with its bound values: password hashes, stored token hashes.
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
