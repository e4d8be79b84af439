"""Where the log messages of cabinetry, pyhf and this package go in a notebook.

Every module of the package logs through its own ``logging.getLogger(__name__)``, as cabinetry
does: steps at ``INFO``, decisions a learner should look at (a bin set to 0, a fit repeated with
another minimizer) at ``WARNING``.
"""

from __future__ import annotations

import logging
import sys

__all__ = ["route_to_stdout"]

#: The loggers whose messages a notebook shows.
LOGGERS: tuple[str, ...] = ("cabinetry", "pyhf", "statlesson")


def route_to_stdout(level: int = logging.WARNING) -> None:
    """Send cabinetry's, pyhf's and this package's log messages of at least ``level`` to stdout.

    In a notebook, stderr output is shown as alarming pink blocks, but these messages are
    information (``logging.INFO`` shows every step) or advice (warnings such as empty bins), not
    errors. Call this once before using cabinetry.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(levelname)s - %(name)s - %(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(level)
