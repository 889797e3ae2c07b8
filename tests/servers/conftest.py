"""Fixtures for the many-server tests: Debian's nginx in front of app servers on loopback.

``farm`` is the deployment on this machine (``deploy/farm.py``): nginx on a free loopback port,
two app servers each started by ``deploy/serve.py`` (the container's entry command), all with
``MARGIN_LAB_DATABASE_URL`` set to ``database_url``. ``open_on`` gives a fresh browser context
that nginx routed to the server asked for, proved by the X-Margin-Lab-Server header of its page
and of its websocket handshake.

A test of shared state across servers (a classroom room) needs only these: take ``browser``,
``farm`` and ``database_url``; ``teacher = open_on(browser, farm, farm.servers[0])`` and
``student = open_on(browser, farm, farm.servers[1])`` are on different servers; after the
room's steps, ``farm.servers[0].stop()`` and ``teacher.goto(link) is farm.servers[1]``.

A missing nginx skips these tests locally with a message; under CI=true it fails them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from deploy.farm import MIME_TYPES, NGINX, SERVER_HEADER, AppServer, Farm


def need(path: str, package: str) -> None:
    """Skip (locally) or fail (CI=true) when a server binary is missing."""
    if Path(path).exists():
        return
    message = f"{path} is missing: apt-get install -y {package}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def nginx_binary() -> str:
    need(NGINX, "nginx")
    need(str(MIME_TYPES), "nginx")
    return NGINX


@pytest.fixture
def database_url(request, tmp_path) -> str:
    """The database every app server of the farm shares: with CI's PostgreSQL (.ci/run exports
    MARGIN_LAB_TEST_DATABASE_URL) a fresh database of this test's own on it (tests run in
    parallel), or else a SQLite file of this test's own."""
    if os.environ.get("MARGIN_LAB_TEST_DATABASE_URL"):
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'margin-lab.sqlite3'}"


@pytest.fixture
def farm(nginx_binary, database_url, tmp_path):
    """nginx and two app servers, all on loopback, started for one test and stopped after it."""
    with Farm(tmp_path / "farm", servers_count=2, env={"MARGIN_LAB_DATABASE_URL": database_url}) as running:
        yield running


def header(headers: dict[str, str], name: str = SERVER_HEADER) -> str | None:
    """A header by name, whatever its case."""
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


@dataclass
class Visit:
    """A browser context on the farm: its page, and the server named by each of its responses
    (the document's and the websocket handshakes', in order)."""

    farm: Farm
    context: object
    page: object
    documents: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)

    def goto(self, url: str) -> AppServer:
        """Open ``url``; the server that answered the document request."""
        response = self.page.goto(url)
        assert response is not None and response.ok, f"{url}: {response and response.status}"
        named = header(response.headers)
        assert named, f"no {SERVER_HEADER} on {url}"
        self.documents.append(named)
        return self.farm.server(named)

    def websocket_servers(self) -> list[AppServer]:
        return [self.farm.server(named) for named in self.websockets]


def visit(browser, farm: Farm) -> Visit:
    """A fresh context (no cookie yet) that records the server of every websocket handshake
    through Chromium's DevTools protocol (Playwright does not show a handshake's headers)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    seen = Visit(farm, context, page)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")

    def on_handshake(event: dict) -> None:
        named = header(event["response"].get("headers", {}))
        if named:
            seen.websockets.append(named)

    cdp.on("Network.webSocketHandshakeResponseReceived", on_handshake)
    return seen


def open_on(browser, farm: Farm, server: AppServer, tries: int = 16) -> Visit:
    """A fresh context that nginx routed to ``server``: new contexts are opened until one lands
    there (a new browser's route is random); its cookie keeps it there afterwards."""
    landed = []
    for _ in range(tries):
        candidate = visit(browser, farm)
        got = candidate.goto(farm.url + "/")
        if got is server:
            return candidate
        landed.append(got.address)
        candidate.context.close()
    pytest.fail(f"{tries} fresh contexts never reached {server.address}: {landed}")
