"""The house's import rules, read from the code (``ast``, nothing is imported), so that the floors
stay where ``docs/architecture.md`` draws them:

- ``margin/`` (the engine) imports neither Streamlit nor Plotly, nor ``ui``, ``pages`` or
  ``classroom``;
- in ``ui/common/`` and in each feature folder only the feature's one Streamlit file
  (:data:`STREAMLIT_SIDE`) imports Streamlit: models, words, charts and HTML are pure;
- ``ui/common/`` imports neither ``ui/shell`` nor any feature;
- ``ui/shell/`` imports no feature (features stand above it);
- no feature imports another feature's Streamlit file;
- nothing imports ``pages/``;
- every folder of ``ui/`` is ``common``, ``shell`` or a feature listed here.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.paths import ROOT

#: The one file of each feature that holds its Streamlit side (caches, session keys, fragments).
STREAMLIT_SIDE = {
    "lab": "ui/lab/session.py",
    "builder": "ui/builder/session.py",
    "replay": "ui/replay/session.py",
    "cascade": "ui/cascade/session.py",
    "stress": "ui/stress/session.py",
    "rooms": "ui/rooms/session.py",
    "learn": "ui/learn/session.py",
}
SHARED = ("common", "shell")
CODE = ("app.py", "margin", "ui", "pages", "classroom", "teach", "tools", "deploy", "tests")


def imported(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, wherever in the file (a function's own imports too):
    ``from a.b import c`` gives ``a.b`` and ``a.b.c`` (``c`` may be a module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def files(*folders: str) -> list[Path]:
    found = []
    for folder in folders:
        target = ROOT / folder
        found += [target] if target.suffix == ".py" else sorted(target.rglob("*.py"))
    return [p for p in found if ".venv" not in p.parts]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def is_module(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def broken(paths: list[Path], forbidden) -> list[str]:
    """``file: module`` for each import of ``paths`` that ``forbidden(file, module)`` refuses."""
    return sorted({f"{rel(p)}: {name}" for p in paths for name in imported(p) if forbidden(rel(p), name)})


def feature_of(path: str) -> str | None:
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "ui" and parts[1] in STREAMLIT_SIDE else None


def test_every_folder_of_ui_is_shared_or_a_listed_feature():
    folders = {p.name for p in (ROOT / "ui").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(SHARED) | set(STREAMLIT_SIDE)
    assert all((ROOT / side).is_file() for side in STREAMLIT_SIDE.values())
    assert not [rel(p) for p in (ROOT / "ui").glob("*.py") if p.name != "__init__.py"]


def test_the_engine_imports_no_screen_and_nothing_above_it():
    assert broken(files("margin"), lambda _, name: is_module(name, "streamlit", "plotly", "ui", "pages",
                                                             "classroom")) == []


@pytest.mark.parametrize("folder", ["ui/common", *(f"ui/{f}" for f in STREAMLIT_SIDE)])
def test_only_the_features_one_streamlit_file_imports_streamlit(folder):
    side = STREAMLIT_SIDE.get(folder.removeprefix("ui/"))
    assert broken([p for p in files(folder) if rel(p) != side], lambda _, name: is_module(name, "streamlit")) == []


def test_common_imports_neither_the_shell_nor_a_feature():
    features = [f"ui.{f}" for f in STREAMLIT_SIDE]
    assert broken(files("ui/common"), lambda _, name: is_module(name, "ui.shell", *features)) == []


def test_the_shell_imports_no_feature():
    features = [f"ui.{f}" for f in STREAMLIT_SIDE]
    assert broken(files("ui/shell"), lambda _, name: is_module(name, *features)) == []


def test_no_file_imports_another_features_streamlit_side():
    sides = {module_of(path): feature for feature, path in STREAMLIT_SIDE.items()}

    def foreign_side(path: str, name: str) -> bool:
        owner = sides.get(name)
        return owner is not None and path.startswith("ui/") and owner != feature_of(path)

    assert broken(files("ui"), foreign_side) == []


def test_nothing_imports_a_page():
    assert broken(files(*CODE), lambda _, name: is_module(name, "pages")) == []


BOUND_LITERALS = re.compile(r"-90(\.0)?,\s*90(\.0)?\b|-0\.9,\s*0\.9\b|\b1e12\b")


def test_the_shock_and_price_bounds_are_read_from_the_engine_limits():
    """The ±90 % shock and the price bound are margin.limits' (MAX_SHOCK_PERCENT, MAX_SHOCK,
    MIN_PRICE, MAX_PRICE): a page, a link or a room that wrote its own could drift from it."""
    found = [f"{path.relative_to(ROOT)}:{n}" for folder in ("ui", "pages", "classroom", "push")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if BOUND_LITERALS.search(line.split("#")[0]) and not line.lstrip().startswith((">>>", "(", "["))]
    assert not found, found
