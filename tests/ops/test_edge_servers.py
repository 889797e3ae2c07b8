"""The edge, through the project's own nginx (deploy/nginx/nginx.conf as it is, Debian's nginx)
in front of one app server started by deploy/serve.py (issue 26.5, 26.6): security headers on
every answer, only the deployment's hosts answered, the upstream's address for loopback only,
and an address too long for a link answered by the app's own page rather than a reset."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess

import pytest

from deploy.farm import (
    HOSTS, MIME_TYPES, NGINX, SERVER_HEADER, AppServer, free_port, nginx_command, render_nginx, stop_process,
    wait_healthy,
)
from margin.limits import MAX_LINK_CHARS
from tests.servers.conftest import need

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    """nginx listening on every interface (so a request can come from off loopback) in front of
    one app server; yields nginx's port."""
    need(NGINX, "nginx")
    need(str(MIME_TYPES), "nginx")
    folder = tmp_path_factory.mktemp("edge")
    app = AppServer(free_port(), {"MARGIN_LAB_DATA_DIR": str(folder / "data"), "MARGIN_LAB_DATABASE_URL": ""},
                    folder / "app.log")
    app.start()
    nginx = None
    try:
        app.wait()
        port = free_port()
        render_nginx(folder / "nginx", str(port), [app.address])
        with (folder / "access.log").open("ab") as log:
            nginx = subprocess.Popen(nginx_command(folder / "nginx"), stdout=log, stderr=subprocess.STDOUT)
        wait_healthy(f"http://127.0.0.1:{port}", nginx, "nginx", folder / "nginx" / "logs" / "error.log", seconds=20)
        yield port
    finally:
        if nginx is not None:
            stop_process(nginx)
        app.stop()


def head(address: str, port: int, path: str = "/", host: str = "127.0.0.1") -> http.client.HTTPResponse:
    """``curl -I``: a HEAD request with ``Host: host``."""
    connection = http.client.HTTPConnection(address, port, timeout=30)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_every_answer_carries_the_security_headers(edge):
    for path in ("/", "/_stcore/health", "/builder"):
        response = head("127.0.0.1", edge, path)
        assert response.status == 200, (path, response.status)
        assert response.getheader("Content-Security-Policy") == "frame-ancestors 'self'"
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("Referrer-Policy") == "same-origin"
        assert response.getheader("Server") == "nginx"  # no version, no upstream's own name


def test_the_upstreams_address_is_told_to_loopback_only(edge):
    assert re.fullmatch(r"127\.0\.0\.1:\d+", head("127.0.0.1", edge).getheader(SERVER_HEADER) or "")
    outside = outside_address()
    if outside is None:
        pytest.skip("this machine has no address off loopback to ask from")
    response = head(outside, edge)
    assert response.status == 200 and response.getheader(SERVER_HEADER) is None


def outside_address() -> str | None:
    """An address of this machine that is not loopback (a request to it does not come from 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only the route is looked up
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("host", ["evil.example", "192.0.2.77", "localhost.evil.example"])
def test_a_host_the_deployment_does_not_serve_gets_no_answer(edge, host):
    assert "evil.example" not in HOSTS
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        head("127.0.0.1", edge, host=host)
    for name in HOSTS:
        assert head("127.0.0.1", edge, host=name).status == 200


def test_an_address_at_the_links_bound_reaches_the_app(edge):
    link = "1." + "A" * MAX_LINK_CHARS  # as long as a view may be (not a valid one: the app says so itself)
    response = head("127.0.0.1", edge, f"/?v={link}&keep=1&present=1")
    assert response.status == 200


@pytest.mark.parametrize("size", [10_000, 200_000, 1_000_000])
def test_an_address_too_long_gets_the_apps_own_page(edge, size):
    connection = http.client.HTTPConnection("127.0.0.1", edge, timeout=30)
    connection.request("GET", "/?v=1." + "A" * size, headers={"Host": "127.0.0.1"})
    response = connection.getresponse()
    page = response.read().decode()
    connection.close()
    assert response.status == 414
    assert "This address is too long to open" in page and "6,000 characters" in page
    assert f"{MAX_LINK_CHARS:,}" in page  # the page states the bound margin/limits.py holds
    assert response.getheader("X-Content-Type-Options") == "nosniff"
