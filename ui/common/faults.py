"""A fault as a visitor reads it: one sentence, an error id, and whether it passes by itself.

Every failure a page can meet (the classroom database unreachable or its file gone, a file the
server cannot write, a long run's worker killed, a bug) becomes a :class:`Fault`: a sentence
that says what happened and what happens next, never a traceback, a file path or a database's
host; the full error goes to the server's log (logger ``margin_lab``) under the same short id,
so an operator finds it from what a visitor reads out. No Streamlit here: the page side is
``ui/shell/faults.py``.

>>> from classroom.codes import StoreUnavailable
>>> fault = describe(StoreUnavailable(error_id="1a2b3c4d"), "1a2b3c4d")
>>> fault.transient, fault.error_id
(True, '1a2b3c4d')
>>> describe(ValueError("at /srv/app/x.py, host db:5432"), "0f0f0f0f").sentence
'Something went wrong on the server while drawing this page; it was not your doing (error 0f0f0f0f).'
"""

from __future__ import annotations

import errno
import logging
import secrets
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from classroom.codes import RoomError, StoreGone, StoreUnavailable

log = logging.getLogger("margin_lab")

#: errno values of a file the server could not write: a full disk, a read-only or forbidden folder
WRITE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """What a page shows for a failure.

    sentence : what happened and what happens next, with the error id [text]
    error_id : the short id the full error is logged under [8 hex digits]
    transient : whether the cause may pass by itself (the page tries again), or is a clear stop
    """

    sentence: str
    error_id: str
    transient: bool


def new_error_id() -> str:
    """A fresh short id for one logged error (8 hex digits)."""
    return secrets.token_hex(4)


def logged_id(err: BaseException) -> str:
    """The id ``err`` was already logged under (the room store logs its own faults), else ''."""
    return getattr(err, "error_id", "") or ""


def report(err: BaseException, where: str = "") -> str:
    """Log ``err`` in full (its traceback) under a fresh id, unless the store already did; the id."""
    error_id = logged_id(err)
    if not error_id:
        error_id = new_error_id()
        log.error("margin lab error %s%s: %s", error_id, f" in {where}" if where else "", err, exc_info=err)
    return error_id


def describe(err: BaseException, error_id: str) -> Fault:
    """The :class:`Fault` a visitor reads for ``err`` (logged under ``error_id``)."""
    if isinstance(err, StoreGone):
        return Fault(sentence=_sentence(str(err)), error_id=error_id, transient=False)
    if isinstance(err, StoreUnavailable):
        return Fault(sentence=_sentence(str(err)) + " This page tries again by itself.", error_id=error_id,
                     transient=True)
    if isinstance(err, RoomError):  # a refusal in words (it names its field): not a fault of the server
        return Fault(sentence=_sentence(str(err)), error_id=error_id, transient=False)
    if isinstance(err, BrokenProcessPool):
        return Fault(sentence=f"The worker process doing this long run stopped before it finished; nothing of "
                              f"it was kept. Start it again (error {error_id}).", error_id=error_id, transient=False)
    if isinstance(err, OSError) and err.errno in WRITE_FAULTS:
        return Fault(sentence=f"The server could not write a file it needs (a full disk or a read-only folder); "
                              f"nothing was saved. This page tries again by itself (error {error_id}).",
                     error_id=error_id, transient=True)
    return Fault(sentence=f"Something went wrong on the server while drawing this page; it was not your doing "
                          f"(error {error_id}).", error_id=error_id, transient=False)


def _sentence(words: str) -> str:
    """A store's message as a sentence: its field prefix kept, a capital first and a full stop.

    >>> _sentence("database: the classroom database is not reachable just now (error 1)")
    'Database: the classroom database is not reachable just now (error 1).'
    """
    words = words.strip()
    return (words[:1].upper() + words[1:]).rstrip(".") + "."


__all__ = ["Fault", "WRITE_FAULTS", "describe", "logged_id", "new_error_id", "report"]
