"""A package that installs (issue 26.7): ``uv build --wheel`` makes a wheel that carries the data
the engine reads (assets/), a ``margin`` console script and the licence; installed in a fresh
virtual environment (the locked versions of its dependencies, from uv's cache where it has them)
and run from a folder outside the project, ``margin liq`` on every preset answers as the
project's own ``python -m margin liq`` does. Also what the image is built from: no secrets or
data in the Docker build context, and uv pinned where CI and the image install it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.slow
PRESETS = sorted((ROOT / "assets" / "scenarios").glob("*.json"))


def run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "UV_SYSTEM_CERTS": "1", **env})
    assert done.returncode == 0, f"{command[:3]}: {done.stderr[-2000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The built wheel installed in a fresh virtual environment; its folder."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    folder = tmp_path_factory.mktemp("package")
    run([uv, "build", "--wheel", "--out-dir", str(folder / "dist")], ROOT)
    (wheel,) = (folder / "dist").glob("margin_lab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "assets/scenarios/default.json" in names and "assets/crashes/" in "".join(names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    requirements = folder / "requirements.txt"
    requirements.write_text(run([uv, "export", "--locked", "--no-dev", "--no-emit-project", "--no-hashes",
                                 "--format", "requirements-txt", "-q"], ROOT).stdout)
    venv = folder / "venv"
    run([uv, "venv", "-q", "--python", sys.executable, str(venv)], folder)
    run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r", str(requirements),
         str(wheel)], folder)
    return venv


def test_the_console_script_runs_liq_on_every_preset_as_the_project_does(installed, tmp_path):
    site = next((installed / "lib").glob("python3*/site-packages"))
    for preset in PRESETS:
        shipped = site / "assets" / "scenarios" / preset.name  # the preset as the wheel installed it
        mine = run([str(installed / "bin" / "margin"), "liq", str(shipped)], tmp_path)
        theirs = run([sys.executable, "-m", "margin", "liq", str(preset)], ROOT)
        assert json.loads(mine.stdout) == json.loads(theirs.stdout), preset.name
    # the installed engine reads its own data, not the project's: a crash path and a venue preset
    probe = ("import margin.crashes as c, margin.presets as p; "
             "print(c.ASSETS.is_relative_to(p.ASSETS), p.ASSETS.parent.name, len(c.crash_ids()) > 0)")
    done = run([str(installed / "bin" / "python"), "-c", probe], tmp_path)
    assert done.stdout.split() == ["True", "site-packages", "True"]


def test_bad_input_to_the_installed_script_is_one_line_and_exit_2(installed, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"wallet": "lots"}')
    done = subprocess.run([str(installed / "bin" / "margin"), "liq", str(bad)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_the_image_context_leaves_out_secrets_and_data_and_uv_is_pinned():
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for needed in ("**/.env", "data", "**/*.sqlite3*", ".streamlit/secrets.toml", ".git", ".venv"):
        assert needed in ignored, needed
    assert not (ROOT / "deploy" / "Dockerfile.dockerignore").exists()  # one ignore file, for every builder
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    pins = {re.search(r"uv==([0-9.]+)", text).group(1) for text in (dockerfile, ci)}
    assert len(pins) == 1, pins  # the same uv in CI and in the image
