"""The deployment recipe, checked as far as this machine allows: nginx accepts its
configuration, the compose file says what the deployment needs, the container runs the entry
command the many-server test runs, and that command sets the production settings."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from deploy import farm, serve
from tests.paths import ROOT

DEPLOY = ROOT / "deploy"
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def nginx_test(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(farm.nginx_command(folder, "-t"), capture_output=True, text=True, timeout=30)


def test_nginx_accepts_the_configuration_with_two_loopback_upstreams(nginx_binary, tmp_path):
    conf = farm.render_nginx(tmp_path, f"127.0.0.1:{farm.free_port()}", ["127.0.0.1:18501", "127.0.0.1:18502"])
    assert conf.read_bytes() == farm.NGINX_CONF.read_bytes()  # the deployment's file, as it is
    assert (tmp_path / "conf" / "upstreams.conf").read_text() == (
        "server 127.0.0.1:18501 max_fails=3 fail_timeout=10s;\n"
        "server 127.0.0.1:18502 max_fails=3 fail_timeout=10s;\n")
    result = nginx_test(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_nginx_test_refuses_a_broken_configuration(nginx_binary, tmp_path):
    """The check above can fail: the same file with an unknown directive is refused."""
    farm.render_nginx(tmp_path, f"127.0.0.1:{farm.free_port()}", ["127.0.0.1:18501"])
    conf = tmp_path / "conf" / "nginx.conf"
    conf.write_text(conf.read_text().replace("proxy_http_version 1.1;", "proxy_http_versoin 1.1;"))
    result = nginx_test(tmp_path)
    assert result.returncode != 0 and "unknown directive" in result.stderr


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_the_compose_file_runs_app_replicas_behind_nginx_with_postgres():
    services = compose()["services"]
    assert set(services) == {"app", "nginx", "db"}
    app, nginx, db = services["app"], services["nginx"], services["db"]

    assert (DEPLOY / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    assert re.fullmatch(r"\$\{MARGIN_LAB_REPLICAS:-1\}", str(app["deploy"]["replicas"]))
    url = app["environment"]["MARGIN_LAB_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://margin_lab:") and url.endswith("@db:5432/margin_lab")
    assert app["environment"]["STREAMLIT_SERVER_COOKIE_SECRET"].startswith("${MARGIN_LAB_COOKIE_SECRET:?")
    assert app["depends_on"]["db"]["condition"] == "service_healthy"

    # nginx runs the very files the many-server test runs
    mounts = {target.removesuffix(":ro"): (DEPLOY / source).resolve()
              for source, target in (m.split(":", 1) for m in nginx["volumes"])}
    assert mounts == {"/etc/nginx/nginx.conf": farm.NGINX_CONF,
                      "/etc/nginx/listen.conf": DEPLOY / "nginx" / "listen.conf",
                      "/etc/nginx/upstreams.conf": DEPLOY / "nginx" / "upstreams.conf",
                      "/etc/nginx/hosts.conf": DEPLOY / "nginx" / "hosts.conf"}
    assert nginx["ports"] == ["${MARGIN_LAB_PORT:-8080}:8080"]
    assert "listen 8080;" in (DEPLOY / "nginx" / "listen.conf").read_text()
    upstreams = (DEPLOY / "nginx" / "upstreams.conf").read_text()
    assert re.search(r"^server app:8501 max_fails=3 fail_timeout=10s;$", upstreams, re.M)
    assert app["expose"] == ["8501"]

    volume, target = db["volumes"][0].split(":")
    assert target == "/var/lib/postgresql/data" and volume in compose()["volumes"]
    assert db["environment"]["POSTGRES_PASSWORD"] == "${MARGIN_LAB_DB_PASSWORD:?set MARGIN_LAB_DB_PASSWORD}"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def instructions(name: str) -> list[str]:
    """The Dockerfile's instructions of one kind, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def test_the_container_installs_the_locked_app_without_the_test_extra():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "test" in pyproject["project"]["optional-dependencies"]
    syncs = [run for run in instructions("RUN") if "uv sync" in run]
    assert syncs and all("--locked" in run and "--no-dev" in run for run in syncs)
    assert not re.search(r"--extra|--all-extras", DOCKERFILE)
    assert instructions("FROM") == ["python:3.11-slim"]
    assert instructions("USER") == ["margin"]


def test_the_container_runs_deploy_serve_and_checks_its_health():
    command = json.loads(instructions("CMD")[0])
    assert command == ["python", "deploy/serve.py", "--address", "0.0.0.0", "--port", "8501"]
    assert ROOT / command[1] == farm.SERVE  # the farm of the many-server test starts this file
    health = instructions("HEALTHCHECK")[0]
    assert "http://127.0.0.1:8501/_stcore/health" in health and "EXPOSE 8501" in DOCKERFILE


def test_serve_sets_the_production_settings(monkeypatch):
    monkeypatch.delenv(serve.HOSTS_ENV, raising=False)
    command = serve.serve_command("127.0.0.1", 18555, python="python")
    pairs = list(zip(command[5::2], command[6::2]))
    assert [v for k, v in pairs if k == "--server.allowedHosts"] == ["localhost", "127.0.0.1"]  # hosts.conf's
    options = {k: v for k, v in pairs if k != "--server.allowedHosts"}
    assert command[:5] == ["python", "-m", "streamlit", "run", str(ROOT / "app.py")]
    assert options == {
        "--server.headless": "true", "--server.fileWatcherType": "none", "--server.runOnSave": "false",
        "--server.enableXsrfProtection": "true", "--server.enableCORS": "true",
        "--server.maxUploadSize": "5", "--client.showErrorDetails": "none",
        "--client.toolbarMode": "viewer", "--browser.gatherUsageStats": "false",
        "--global.disableWidgetStateDuplicationWarning": "true",  # widgets seeded and defaulted alike, on purpose
        "--server.address": "127.0.0.1", "--server.port": "18555",
    }


@pytest.mark.parametrize("page, limit", [("ui/replay/session.py", 5), ("pages/builder.py", 1)])
def test_the_upload_limit_covers_every_uploader(page, limit):
    """server.maxUploadSize caps every uploader: it must be at least each page's own limit (the file
    that draws the uploader: the replay's candles are drawn by its feature's session)."""
    text = (ROOT / page).read_text()
    assert f"max_upload_size={limit}" in text
    assert limit <= tomllib.loads(serve.SETTINGS.read_text())["server"]["maxUploadSize"]
