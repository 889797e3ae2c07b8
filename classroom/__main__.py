"""``python -m classroom``: back up, restore and tidy the room store.

* ``python -m classroom backup PATH``: a consistent copy of the SQLite store into ``PATH``, taken
  with SQLite's online backup API while servers keep running (a copy of the file with ``cp``
  could catch a write half done, and would miss what is still in the ``-wal`` file).
* ``python -m classroom restore PATH``: the store's file replaced, page by page, by the backup
  at ``PATH``. Stop the app servers first: a running server notices that its file changed
  under it only if the file was deleted or replaced, not rewritten in place.
* ``python -m classroom purge``: delete the rooms expired more than 30 days ago.

Each takes ``--url`` (default: :func:`classroom.store.default_url`, the same store the app
uses). For PostgreSQL use its own tools, which are made for it: ``pg_dump -Fc -f rooms.dump
"$MARGIN_LAB_DATABASE_URL"`` to back up and ``pg_restore --clean --if-exists -d
"$MARGIN_LAB_DATABASE_URL" rooms.dump`` to restore; ``backup`` and ``restore`` here refuse a
PostgreSQL URL with that advice.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from classroom.codes import RoomError
from classroom.store.db import default_url, sqlite_path

PG_ADVICE = ("for PostgreSQL use pg_dump -Fc -f rooms.dump \"$MARGIN_LAB_DATABASE_URL\" to back up and "
             "pg_restore --clean --if-exists -d \"$MARGIN_LAB_DATABASE_URL\" rooms.dump to restore")


def _copy(source: Path, target: Path) -> int:
    """Copy the SQLite database ``source`` into ``target`` with the online backup API; returns
    the pages copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        pages = dst.execute("PRAGMA page_count").fetchone()[0]
    src.close()
    dst.close()
    return int(pages)


def backup(url: str, path: Path) -> int:
    """Back the store at ``url`` up into ``path`` (a new SQLite file); returns its pages."""
    store = sqlite_path(url)
    if store is None:
        raise RoomError("url", f"backup copies a SQLite store only: {PG_ADVICE}")
    if not store.exists():
        raise RoomError("url", f"there is no room store at {store}")
    return _copy(store, path)


def restore(url: str, path: Path) -> int:
    """Replace the store at ``url`` by the backup at ``path`` (checked to be a room store first)."""
    store = sqlite_path(url)
    if store is None:
        raise RoomError("url", f"restore writes a SQLite store only: {PG_ADVICE}")
    if not path.is_file():
        raise RoomError("path", f"there is no backup at {path}")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as check:
            check.execute("SELECT version FROM schema_version").fetchone()
        check.close()
    except sqlite3.DatabaseError:
        raise RoomError("path", f"{path} is not a Margin Lab room store") from None
    return _copy(path, store)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom", description="Back up, restore or tidy the room store.")
    parser.add_argument("--url", default=None, help="the store (default: as the app finds it)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, words in (("backup", "copy the store into PATH"), ("restore", "replace the store by the backup at PATH")):
        commands.add_parser(name, help=words).add_argument("path", type=Path)
    commands.add_parser("purge", help="delete rooms expired more than 30 days ago")
    args = parser.parse_args(argv)
    url = args.url or default_url()
    try:
        if args.command == "backup":
            print(f"backed up {backup(url, args.path)} pages to {args.path}")
        elif args.command == "restore":
            print(f"restored {restore(url, args.path)} pages from {args.path}")
        else:
            from classroom.store import RoomStore
            store = RoomStore(url)
            print(f"purged {store.purge()} rooms")
            store.dispose()
    except RoomError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
