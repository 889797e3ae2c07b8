"""Join codes, tokens and nicknames: what a person types or carries in a link to a room.

* A **join code** is 6 symbols from a 31-symbol alphabet without the look-alikes 0/O, 1/I/L
  (31**6, about 887 million codes), drawn with :mod:`secrets`; typed codes are read
  case-insensitively, with spaces and dashes ignored.
* A **teacher key** (43 characters, 256 bits) and a **participant token** (22 characters,
  128 bits) are URL-safe random tokens. The database keeps only their SHA-256 digests and
  compares digests with :func:`hmac.compare_digest`.
* A **nickname** is 1 to 24 characters of letters, digits, spaces and ``- ' .`` (no markup
  characters at all), its letters from one script (Latin, Cyrillic, Greek, ...; Japanese, Chinese
  and Korean may mix Han, kana or hangul with Latin, as Unicode's "highly restrictive" level of
  UTS #39 allows), so a Cyrillic "а" cannot hide among Latin letters. It is still shown as text
  only, wherever it appears. Two nicknames are **one name** in a room when their keys are equal
  (:func:`nickname_key`: Unicode NFKC, case folding, runs of spaces as one, and the common
  Cyrillic and Greek lookalikes of Latin letters read as those letters): "Ada", "ada" and the
  fullwidth "Ａｄａ" are one name, and so are the Latin "Ace" and the all-Cyrillic "Асе".

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
>>> [nickname_key(n) for n in ("Ada", "ada", "Ａｄａ", " ADA ", "Асе")]
['ada', 'ada', 'ada', 'ada', 'ace']
>>> check_nickname("Аda")  # a Cyrillic capital A before Latin letters
Traceback (most recent call last):
...
classroom.codes.RoomError: nickname: mixes Cyrillic and Latin letters, which can look alike: use one script
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
MAX_KEY_CHARS = 96  # a nickname's key (NFKC can lengthen it: "ﬃ" is "ffi")
# Scripts that may share one nickname (UTS #39, "highly restrictive"); any single script may stand alone.
_SCRIPT_SETS = ({"Latin", "Han", "Kana"}, {"Latin", "Han", "Bopomofo"}, {"Latin", "Han", "Hangul"})
# Cyrillic and Greek letters (case-folded) that read as a Latin one (a few of Unicode's confusables.txt).
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l",
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ϲ": "c", "γ": "y",
})


class RoomError(ScenarioError):
    """A refused room action. ``str(err)`` is one line: ``<field>: <problem>``; nothing was stored."""


class StoreUnavailable(RoomError):
    """The database could not be reached or stayed busy after a few tries: nothing was stored.
    The message carries the short ``error_id`` under which the full error was logged."""

    def __init__(self, field_name: str = "database", problem: str = "", *, error_id: str = ""):
        self.error_id = error_id
        super().__init__(field_name, problem or "the classroom database is not reachable just now; "
                                                f"try again in a moment (error {error_id or 'unknown'})")


class StoreGone(StoreUnavailable):
    """The SQLite file was deleted or replaced under the running server: the store stops rather
    than write rooms into a file nobody will read again."""


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
    scripts = {_script(c) for c in unicodedata.normalize("NFKC", name) if unicodedata.category(c).startswith("L")}
    scripts.discard("Common")
    if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_SETS):
        mixed = " and ".join(sorted(scripts))
        raise RoomError("nickname", f"mixes {mixed} letters, which can look alike: use one script")
    return name


def nickname_key(name: str) -> str:
    """The form two nicknames are compared in (a room holds each key once): NFKC, case folded,
    spaces collapsed, Cyrillic and Greek lookalikes read as Latin letters, at most 96 characters."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())
    return " ".join(folded.split()).translate(_LOOKALIKES)[:MAX_KEY_CHARS]


def _script(letter: str) -> str:
    """The script of one letter, from its Unicode name (``CYRILLIC SMALL LETTER A``: Cyrillic)."""
    word = unicodedata.name(letter, "UNKNOWN").split(" ")[0]
    if word in ("CJK", "IDEOGRAPHIC"):
        return "Han"
    if word in ("HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA"):
        return "Kana"
    if word in ("MODIFIER", "UNKNOWN"):
        return "Common"
    return word.capitalize()


__all__ = ["ALPHABET", "CODE_LENGTH", "MAX_NICKNAME_CHARS", "RoomError", "StoreGone", "StoreUnavailable",
           "check_nickname", "digest", "new_code", "new_token", "nickname_key", "normalize_code", "token_matches"]
