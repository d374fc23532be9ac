"""The application's own log: a rotating file in the platform's user log directory.

Why a file and not the terminal: the application is usually started from a desktop menu, where nothing
reads stderr. When something goes wrong at a bedside, the technician needs to know what the programmer
did and what failed, after the fact. The log says when the application started and stopped and why,
which link it opened, and the traceback of anything unforeseen. It records no doses or patient data of
its own accord (those belong to the audit log, which has its own rules); only an error's own message,
in a traceback, may quote a value.

Where it lives: ``platformdirs.user_log_path("itb-programmer")`` (on Linux ``$XDG_STATE_HOME`` or
``~/.local/state``, then ``itb-programmer/log/itb-programmer.log``), at most 1 MiB a file and five old files.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

APP_NAME = "itb-programmer"
MAX_BYTES = 1024 * 1024
BACKUPS = 5

log = logging.getLogger(APP_NAME)


def log_path() -> Path:
    """The current log file (the rotated ones sit beside it as ``.1`` ... ``.5``)."""
    return platformdirs.user_log_path(APP_NAME) / f"{APP_NAME}.log"


def start_logging() -> Path:
    """Send the application's log to the rotating file, once per process; returns the file's path.

    If the directory cannot be made (a read-only home), logging goes nowhere rather than stopping the
    application: a clinician must still be able to read the pump.
    """
    path = log_path()
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in log.handlers):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                           encoding="utf-8")
        except OSError:
            log.addHandler(logging.NullHandler())
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
            log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return path
