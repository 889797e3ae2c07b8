"""Join codes, tokens and nicknames: what a person types or carries in a link to a room.

* A **join code** is 6 symbols from a 31-symbol alphabet without the look-alikes 0/O, 1/I/L
  (31**6, about 887 million codes), drawn with :mod:`secrets`; typed codes are read
  case-insensitively, with spaces and dashes ignored.
* A **teacher key** (43 characters, 256 bits) and a **participant token** (22 characters,
  128 bits) are URL-safe random tokens. The database keeps only their SHA-256 digests and
  compares digests with :func:`hmac.compare_digest`.
* A **nickname** is 1 to 24 characters of letters, digits, spaces and ``- ' .`` (no markup
  characters at all); it is still shown as text only, wherever it appears.

>>> len(ALPHABET), any(c in ALPHABET for c in "0O1IL")
(31, False)
>>> normalize_code(" ab3-d7k ")
'AB3D7K'
>>> check_nickname("  Ada L. ")
'Ada L.'
>>> check_nickname("<b>x</b>")
Traceback (most recent call last):
...
classroom.codes.RoomError: nickname: may hold letters, digits, spaces and - ' . only, got '<'
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

from margin.fields import ScenarioError

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
CODE_LENGTH = 6
MAX_NICKNAME_CHARS = 24
_NICKNAME_PUNCTUATION = set(" -'.")


class RoomError(ScenarioError):
    """A refused room action. ``str(err)`` is one line: ``<field>: <problem>``; nothing was stored."""


def new_code() -> str:
    """A fresh random join code (the store retries on the rare collision)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: object) -> str:
    """A typed join code in canonical form; :class:`RoomError` when it cannot be one."""
    if not isinstance(typed, str):
        raise RoomError("code", "must be text")
    code = typed.strip().upper().replace("-", "").replace(" ", "")
    if not code:
        raise RoomError("code", "is empty: type the room's code from the board")
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        raise RoomError("code", f"must be {CODE_LENGTH} letters and digits, as on the board (no 0, O, 1, I or L)")
    return code


def new_token(n_bytes: int = 16) -> str:
    """A URL-safe random token of ``n_bytes`` bytes of entropy."""
    return secrets.token_urlsafe(n_bytes)


def digest(token: str) -> str:
    """The SHA-256 hex digest the database keeps instead of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(token: object, stored_digest: str) -> bool:
    """Whether ``token`` is the one whose digest is ``stored_digest`` (constant-time compare)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return False
    return hmac.compare_digest(digest(token), stored_digest)


def check_nickname(raw: object) -> str:
    """A nickname as it will be shown: stripped, inner runs of spaces kept as typed."""
    if not isinstance(raw, str):
        raise RoomError("nickname", "must be text")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise RoomError("nickname", "is empty: type a name the class will see (no real name needed)")
    if len(name) > MAX_NICKNAME_CHARS:
        raise RoomError("nickname", f"must be at most {MAX_NICKNAME_CHARS} characters, got {len(name)}")
    bad = next((c for c in name if not (c.isalnum() or c in _NICKNAME_PUNCTUATION)), None)
    if bad is not None:
        raise RoomError("nickname", f"may hold letters, digits, spaces and - ' . only, got {bad!r}")
    return name


__all__ = ["ALPHABET", "CODE_LENGTH", "MAX_NICKNAME_CHARS", "RoomError", "check_nickname", "digest", "new_code",
           "new_token", "normalize_code", "token_matches"]
