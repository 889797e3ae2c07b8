"""Stream tickets: what a student page gives its component to listen to a room's event stream.

A ticket is not a seat token. It names the room's code, the participant's id (a row number,
no credential) and when it expires [unix s], signed by the server with HMAC-SHA256 under a key
derived from Streamlit's ``server.cookieSecret`` (the same on every replica, so any server
reads another's tickets). It opens one thing: the room's public screen, which every student in
the room already sees. The seat token and the teacher key never travel in the stream's address
or its events.

Without a valid ticket the stream answers 404, the same for a wrong code, a forged or expired
ticket and a room that does not exist: the route is no oracle for guessing join codes.

>>> key = stream_key("a cookie secret")
>>> ticket = issue_ticket(code="ABC234", participant_id=7, expires_at=2_000_000_000, key=key)
>>> read_ticket(ticket, key=key, now=1_900_000_000)
StreamTicket(code='ABC234', participant_id=7, expires_at=2000000000)
>>> read_ticket(ticket, key=key, now=2_000_000_001) is None  # expired
True
>>> read_ticket(ticket.replace("ABC234", "ABC235"), key=key, now=0) is None  # another room
True
>>> read_ticket(ticket, key=stream_key("another secret"), now=0) is None  # another server's key
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

MAX_TICKET_CHARS = 120
_LABEL = b"margin-lab room stream v1"  # the key's purpose: a ticket MAC is never a cookie's
# code.participant.expiry.signature; the code's own alphabet is classroom.codes' (its signature
# vouches for it), not imported here: the server imports this module before the app's modules.
_FORM = re.compile(r"([A-Z0-9]{1,12})\.([0-9]{1,12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamTicket:
    """A room (``code``), a participant's id and the ticket's expiry [unix s]."""

    code: str
    participant_id: int
    expires_at: int


def stream_key(secret: str) -> bytes:
    """The tickets' signing key, derived from the server's cookie secret for this one use."""
    return hmac.new(secret.encode("utf-8"), _LABEL, hashlib.sha256).digest()


def _signature(payload: str, key: bytes) -> str:
    mac = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def issue_ticket(*, code: str, participant_id: int, expires_at: float, key: bytes) -> str:
    """A ticket for ``participant_id`` in room ``code`` until ``expires_at`` [unix s]: the same
    inputs give the same ticket, so a page's reruns keep one stream address."""
    payload = f"{code}.{int(participant_id)}.{int(expires_at)}"
    return f"{payload}.{_signature(payload, key)}"


def read_ticket(ticket: object, *, key: bytes, now: float) -> StreamTicket | None:
    """The ticket's contents when it is well formed, signed with ``key`` and not expired at
    ``now`` [unix s]; otherwise None (never an exception: the route answers 404)."""
    if not isinstance(ticket, str) or len(ticket) > MAX_TICKET_CHARS:
        return None
    match = _FORM.fullmatch(ticket)
    if match is None:
        return None
    code, pid, expires, signature = match.groups()
    if not hmac.compare_digest(signature, _signature(f"{code}.{pid}.{expires}", key)):
        return None
    if int(expires) <= now:
        return None
    return StreamTicket(code=code, participant_id=int(pid), expires_at=int(expires))


__all__ = ["MAX_TICKET_CHARS", "StreamTicket", "issue_ticket", "read_ticket", "stream_key"]
