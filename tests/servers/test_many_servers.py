"""Past one server: nginx in front of two app servers on loopback, as deploy/ runs them.

New browsers are spread over both servers and each stays on its own (the route cookie), the
app's websocket goes through the proxy to that same server, and when one server is lost its
browser is routed to the other, where the app works and the shared link brings the same account
back. The shared state the app has today is its link; rooms (issue 17) add a database, which
the farm already passes to every server as MARGIN_LAB_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from streamlit.proto.NewSession_pb2 import Config

from deploy.farm import SERVER_HEADER
from tests.servers.conftest import open_on
from tools.protocol_session import ProtocolSession

pytestmark = pytest.mark.servers


@pytest.fixture(autouse=True)
def _expect_timeout():
    expect.set_options(timeout=30_000)


def get(url: str, cookie: str | None = None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.headers


def route_cookie(headers) -> str:
    """The route cookie nginx set (Streamlit sets its XSRF cookie beside it), as name=value."""
    routes = [c for c in headers.get_all("Set-Cookie") or [] if c.startswith("margin_lab_route=")]
    assert len(routes) == 1, headers.get_all("Set-Cookie")
    cookie = routes[0]
    assert re.fullmatch(r"margin_lab_route=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Lax", cookie), cookie
    return cookie.split(";")[0]


def test_new_visitors_reach_both_servers_and_each_stays_on_its_own(farm):
    addresses = {s.address for s in farm.servers}
    first_server_of = {}
    for _ in range(40):  # a new visitor's route is random: both servers come up soon
        headers = get(farm.url + "/")
        first_server_of[route_cookie(headers)] = headers[SERVER_HEADER]
        if set(first_server_of.values()) == addresses:
            break
    assert set(first_server_of.values()) == addresses

    for cookie, server in first_server_of.items():
        # the same visitor, again and again: the same server, for pages, assets and health
        for path in ("/", "/builder", "/_stcore/health", "/_stcore/host-config"):
            headers = get(farm.url + path, cookie)
            assert headers[SERVER_HEADER] == server, path
            assert route_cookie(headers) == cookie
        # and its websocket, upgraded through nginx, to that server too
        ws_url = farm.url.replace("http://", "ws://") + "/_stcore/stream"
        with connect(ws_url, subprotocols=["streamlit"], additional_headers={"Cookie": cookie},
                     open_timeout=10) as ws:
            assert ws.response.status_code == 101
            assert ws.response.headers[SERVER_HEADER] == server

    # one server is lost: the very next request of its visitor is retried on the other
    # (proxy_next_upstream), which names both in X-Margin-Lab-Server, tried one after the other
    lost, kept = farm.servers
    lost.stop()
    cookie = next(c for c, server in first_server_of.items() if server == lost.address)
    for path in ("/", "/_stcore/health", "/builder", "/"):
        headers = get(farm.url + path, cookie)
        assert farm.server(headers[SERVER_HEADER]) is kept, path
        assert route_cookie(headers) == cookie  # the same route: it comes back when the server does
    assert headers[SERVER_HEADER] in (f"{lost.address}, {kept.address}", kept.address)
    other = next(c for c, server in first_server_of.items() if server == kept.address)
    assert get(farm.url + "/", other)[SERVER_HEADER] == kept.address


def test_every_app_server_gets_the_database_url_and_one_cookie_secret(farm, database_url):
    environments = []
    for server in farm.servers:
        raw = Path(f"/proc/{server.process.pid}/environ").read_bytes().split(b"\0")
        environments.append(dict(item.decode().split("=", 1) for item in raw if b"=" in item))
    assert all(env["MARGIN_LAB_DATABASE_URL"] == database_url for env in environments)
    secrets = {env["STREAMLIT_SERVER_COOKIE_SECRET"] for env in environments}
    assert len(secrets) == 1 and len(secrets.pop()) == 64


def wait_for_websocket(visit, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not visit.websockets:
        assert time.monotonic() < deadline, "no websocket handshake seen"
        visit.page.wait_for_timeout(100)


def cross_pool(page) -> str:
    return page.locator('[data-metric="Cross pool equity"] .ml-metric-value').first.inner_text()


@pytest.mark.browser
def test_two_browsers_on_two_servers_and_a_lost_server_loses_nothing_of_the_link(browser, farm):
    a, b = farm.servers
    first, second = open_on(browser, farm, a), open_on(browser, farm, b)
    for visit, server in ((first, a), (second, b)):
        expect(visit.page.get_by_role("heading", name="Price lab")).to_be_visible()
        expect(visit.page.locator('[data-metric="Cross pool equity"]').first).to_be_visible()
        wait_for_websocket(visit)
        assert set(visit.websocket_servers()) == {server}  # the session lives where the page came from
        assert visit.goto(farm.url + "/builder") is server  # and the cookie keeps it there
        expect(visit.page.get_by_role("heading", name="Account builder")).to_be_visible()
        assert visit.goto(farm.url + "/") is server
        expect(visit.page.get_by_role("heading", name="Price lab")).to_be_visible()

    # the first visitor moves the market on server A and takes the link to that view
    page = first.page
    default_pool = cross_pool(page)
    shock = page.get_by_label("Shock, exact [%]")
    shock.fill("-5")
    shock.press("Enter")
    expect(page.locator('[data-metric="Cross pool equity"] .ml-metric-value').first).not_to_have_text(default_pool)
    pool = cross_pool(page)
    page.get_by_role("button", name=re.compile("Share this view")).first.click()
    shared = page.locator('[data-testid="stCode"] code').filter(has_text="?v=").first
    expect(shared).to_be_visible()
    link = shared.inner_text().strip()
    assert link.startswith(farm.url + "/?v=1.")  # a link to the proxy, not to one server

    # server A is lost: the first visitor's next request goes to B, and the link still holds
    a.stop()
    assert not a.alive
    handshakes = len(first.websockets)
    assert first.goto(link) is b
    expect(page.get_by_role("heading", name="Price lab")).to_be_visible()
    expect(page.get_by_label("Shock, exact [%]")).to_have_value("-5.0")
    expect(page.locator('[data-metric="Cross pool equity"] .ml-metric-value').first).to_have_text(pool)
    deadline = time.monotonic() + 30
    while len(first.websockets) == handshakes:
        assert time.monotonic() < deadline, "no websocket after the failover"
        page.wait_for_timeout(100)
    assert first.websocket_servers()[-1] is b
    assert first.goto(farm.url + "/builder") is b  # and it stays there
    expect(page.get_by_role("heading", name="Account builder")).to_be_visible()

    # the second visitor, on B all along, works on as before
    other = second.page
    other_shock = other.get_by_label("Shock, exact [%]")
    other_shock.fill("-5")
    other_shock.press("Enter")
    expect(other.locator('[data-metric="Cross pool equity"] .ml-metric-value').first).to_have_text(pool)
    assert second.websocket_servers() == [b] * len(second.websockets)
    for visit in (first, second):
        visit.context.close()


def test_a_protocol_session_through_nginx_runs_the_lab_with_the_production_settings(farm):
    """What tools/bench_proxy.py measures, checked: a websocket client through nginx gets the
    lab with deploy/serve.py's settings, and its slider step reaches the app."""
    addresses = {s.address for s in farm.servers}

    async def one_visit() -> None:
        session = ProtocolSession(farm.url)
        await session.open()
        try:
            assert session.server in addresses and session.websocket_server == session.server
            assert session.toolbar_mode == Config.ToolbarMode.VIEWER
            assert session.numbers["lab.shock.input"] == 0.0
            await session.step("lab.shock.slider", -5.0)
            assert session.numbers["lab.shock.input"] == -5.0  # the fragment ran with the new shock
        finally:
            await session.close()

    # in a thread of its own: after a Playwright test, this thread has an event loop running
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, one_visit()).result()
