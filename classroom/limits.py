"""Every bound of a classroom room in one place, and who is asking (for the join rate limit).

Rooms: open for up to :data:`MAX_HOURS` (default :data:`DEFAULT_HOURS`), up to
:data:`MAX_CAPACITY` students; a room's record is purged :data:`RETENTION_DAYS` after it expired.

**Guessing codes.** A failed join (a wrong, closed or expired code) is counted twice, in the
database and atomically: per browser session (at most :data:`MAX_FAILED_JOINS_PER_SESSION` a
minute) and per network address (at most :data:`MAX_FAILED_JOINS_PER_ADDRESS` a minute, far
above what a class of 300 with typos makes, so a school behind one address is never locked out).
The session's limit is checked first: a student's own typos refuse only that student.

**Which address.** :func:`client_address` trusts ``X-Forwarded-For`` only as far as a proxy
you configured wrote it. Name those proxies in the environment variable
``MARGIN_LAB_TRUSTED_PROXIES``: addresses or networks, comma-separated (for example
``127.0.0.1,::1`` when the project's nginx runs on the same machine, ``10.0.0.0/8`` for a load
balancer's network). Unset (the default), no proxy is trusted and the address is the peer's
own: a client cannot choose its address by writing the header.

>>> client_address("127.0.0.1", "6.6.6.6, 203.0.113.9", "127.0.0.1")
'203.0.113.9'
>>> client_address("203.0.113.9", "6.6.6.6", "")  # nothing trusted: the header is ignored
'203.0.113.9'
"""

from __future__ import annotations

from margin.limits import MAX_SHOCK  # the lab's bound, stated once

import ipaddress
import os
from typing import Iterable

DEFAULT_HOURS = 4.0  # a room expires this long after it opens [h]
MAX_HOURS = 48.0  # [h]
DEFAULT_CAPACITY = 60  # students
MAX_CAPACITY = 300  # students
RETENTION_DAYS = 30.0  # an expired room's record is kept this long, then purged [days]
MAX_SCENARIO_CHARS = 200_000  # a pushed account as JSON [characters]
MAX_CASCADE_SHOCK = 0.3  # the class market's shock [fraction, either way]

JOIN_WINDOW = 60.0  # failed joins are counted over this window [s]
MAX_FAILED_JOINS_PER_SESSION = 10  # failed joins from one browser session within JOIN_WINDOW
MAX_FAILED_JOINS_PER_ADDRESS = 300  # failed joins from one network address within JOIN_WINDOW

PRESENCE_EVERY = 5.0  # a seat's last_seen is written at most this often [s]
PRESENCE_WINDOW = 20.0  # a seat seen within this long is connected [s]

MIN_TIMER = 5.0  # a question's timer [s]
MAX_TIMER = 3600.0  # [s]
MAX_OPTIONS = 8  # a choice question's options
MAX_OPTION_CHARS = 120
MAX_QUESTION_CHARS = 500
MAX_MY_ROOMS = 50  # (code, key) pairs one "my rooms" query reads
MAX_REPLAY_RATE = 100.0  # a replay's steps per second

TRUSTED_PROXIES_ENV = "MARGIN_LAB_TRUSTED_PROXIES"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(configured: str | None = None) -> tuple[Network, ...]:
    """The proxies whose ``X-Forwarded-For`` entries are believed, from ``configured`` (default:
    ``$MARGIN_LAB_TRUSTED_PROXIES``); a malformed entry is ignored (trusting less, never more).

    >>> [str(n) for n in trusted_proxies("127.0.0.1, 10.0.0.0/8, not-an-address")]
    ['127.0.0.1/32', '10.0.0.0/8']
    """
    text = os.environ.get(TRUSTED_PROXIES_ENV, "") if configured is None else configured
    networks = []
    for entry in text.split(","):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _address(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """One hop as an address (a port, brackets and IPv4-mapped IPv6 taken off), None if it is none."""
    entry = entry.strip().strip('"')
    if entry.startswith("["):
        entry = entry[1:].split("]", 1)[0]
    elif entry.count(":") == 1:
        entry = entry.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(entry)
    except ValueError:
        return None
    mapped = getattr(found, "ipv4_mapped", None)
    return mapped if mapped is not None else found


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: str | Iterable[Network] | None = None) -> str:
    """The address a request comes from [text], as far as it can be believed.

    Parameters
    ----------
    peer : str or None
        The address of the connection's other end (the last proxy, or the client itself).
    forwarded_for : str or None
        The ``X-Forwarded-For`` header: hops left to right, each proxy appending the peer it saw.
    trusted : str, networks or None
        The trusted proxies (text as in ``MARGIN_LAB_TRUSTED_PROXIES``, or networks); None reads
        the environment variable.

    Returns
    -------
    str
        Walking from the right: the peer, then each hop a trusted proxy wrote, until the first
        hop that is not a trusted proxy (that one is the client). Entries left of it were
        written by the client and are never read. ``"unknown"`` when the peer is not an address.

    >>> client_address("10.0.0.5", "1.2.3.4, 198.51.100.7, 10.0.0.9", "10.0.0.0/8")
    '198.51.100.7'
    >>> client_address("[::1]:5000", "bogus, 192.0.2.1", "::1")
    '192.0.2.1'
    """
    networks = trusted_proxies(trusted) if trusted is None or isinstance(trusted, str) else tuple(trusted)
    hop = _address(peer or "")
    if hop is None:
        return "unknown"
    hops = [h for h in (forwarded_for or "").split(",") if h.strip()]
    while hops and any(hop in network for network in networks if hop.version == network.version):
        before = _address(hops.pop())
        if before is None:  # garbage from the client: the last hop a trusted proxy saw stands
            break
        hop = before
    return str(hop)


__all__ = ["DEFAULT_CAPACITY", "DEFAULT_HOURS", "JOIN_WINDOW", "MAX_CAPACITY", "MAX_CASCADE_SHOCK", "MAX_FAILED_JOINS_PER_ADDRESS",
           "MAX_FAILED_JOINS_PER_SESSION", "MAX_HOURS", "MAX_MY_ROOMS", "MAX_OPTIONS", "MAX_OPTION_CHARS",
           "MAX_QUESTION_CHARS", "MAX_REPLAY_RATE", "MAX_SCENARIO_CHARS", "MAX_SHOCK", "MAX_TIMER", "MIN_TIMER",
           "PRESENCE_EVERY", "PRESENCE_WINDOW", "RETENTION_DAYS", "TRUSTED_PROXIES_ENV", "client_address",
           "trusted_proxies"]
