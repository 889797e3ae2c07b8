"""The deployment on one machine, on loopback: Debian's nginx in front of N app servers.

For the many-server tests (``tests/servers``) and the proxy benchmark (``tools/bench_proxy.py``).
Each app server is started by ``deploy/serve.py``, the container's own entry command; nginx
runs as a private instance on ``deploy/nginx/nginx.conf`` as it is, copied into a folder of its
own beside two files written here: ``listen.conf`` (a free loopback port) and
``upstreams.conf`` (the app servers). Its pid file and logs stay in that folder.

    with Farm(folder, servers=2, env={"MARGIN_LAB_DATABASE_URL": url}) as farm:
        farm.url                # nginx: http://127.0.0.1:<port>
        farm.servers[0].address # "127.0.0.1:<port>", as X-Margin-Lab-Server names it
        farm.servers[0].stop()  # a lost server
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
UPSTREAMS_CONF = DEPLOY / "nginx" / "upstreams.conf"
SERVE = DEPLOY / "serve.py"
NGINX = os.environ.get("MARGIN_LAB_NGINX", "/usr/sbin/nginx")
MIME_TYPES = Path("/etc/nginx/mime.types")
SERVER_HEADER = "X-Margin-Lab-Server"
HOSTS = ("127.0.0.1", "localhost")  # the names the farm's nginx and app servers answer to


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, what: str, log: Path, seconds: float = 60) -> None:
    """Wait until ``url``/_stcore/health answers 200; raise with the end of ``log`` if it dies."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}): {read_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{what} did not become healthy within {seconds:.0f} s: {read_tail(log)}")


def read_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def stop_process(process: subprocess.Popen, seconds: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def upstream_options() -> str:
    """The options of the deployment's own upstream line (deploy/nginx/upstreams.conf), e.g.
    ``max_fails=3 fail_timeout=10s``: the farm's servers get the same passive health check."""
    match = re.search(r"^server app:8501 ([^;]*);$", UPSTREAMS_CONF.read_text(), re.M)
    if match is None:
        raise ValueError(f"{UPSTREAMS_CONF}: no line 'server app:8501 ...;'")
    return match.group(1)


def render_nginx(folder: Path, listen: str, upstreams: list[str]) -> Path:
    """Lay out a private nginx in ``folder``: the deployment's nginx.conf (copied as it is),
    Debian's mime.types, listen.conf, hosts.conf (:data:`HOSTS`) and upstreams.conf (the
    deployment's upstream line, once per address). Returns the nginx.conf path."""
    conf = folder / "conf"
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    conf.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NGINX_CONF, conf / "nginx.conf")
    shutil.copyfile(MIME_TYPES, conf / "mime.types")
    (conf / "listen.conf").write_text(f"listen {listen};\n")
    (conf / "hosts.conf").write_text(f"server_name {' '.join(HOSTS)};\n")
    options = upstream_options()
    (conf / "upstreams.conf").write_text("".join(f"server {address} {options};\n" for address in upstreams))
    return conf / "nginx.conf"


def nginx_command(folder: Path, *extra: str) -> list[str]:
    """Debian's nginx on the folder laid out by :func:`render_nginx`, in the foreground."""
    return [NGINX, "-p", f"{folder}/", "-c", str(folder / "conf" / "nginx.conf"),
            "-e", str(folder / "logs" / "error.log"),
            "-g", f"daemon off; pid {folder / 'logs' / 'nginx.pid'};", *extra]


@dataclass(eq=False)
class AppServer:
    """One app server started by deploy/serve.py on a loopback port (compared, and hashed, by
    identity: a server is one process, whatever its fields)."""

    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        command = [sys.executable, str(SERVE), "--address", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env={**os.environ, **self.env},
                                            stdout=log, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        assert self.process is not None
        wait_healthy(self.url, self.process, f"app server {self.address}", self.log)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@dataclass
class Farm:
    """nginx on a free loopback port in front of ``servers_count`` app servers, in ``folder``.
    A stopped server can be started again on its port (``server.start(); server.wait()``)."""

    folder: Path
    servers_count: int = 2
    env: dict[str, str] = field(default_factory=dict)
    servers: list[AppServer] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    port: int = 0

    def __post_init__(self) -> None:
        # Every replica shares one cookie secret, as in deploy/compose.yaml.
        self.env = {"STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32), **self.env}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "nginx" / "logs" / "access.log"

    @property
    def error_log(self) -> Path:
        return self.folder / "nginx" / "logs" / "error.log"

    def start(self) -> "Farm":
        """Start the app servers, then nginx; whatever started is stopped if a part fails."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "Farm":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.servers = [AppServer(free_port(), self.env, self.folder / f"app-{i}.log")
                        for i in range(self.servers_count)]
        for server in self.servers:  # start them together, then wait: they boot in parallel
            server.start()
        for server in self.servers:
            server.wait()
        self.port = free_port()
        render_nginx(self.folder / "nginx", f"127.0.0.1:{self.port}", [s.address for s in self.servers])
        # the access log goes to nginx's standard output (/dev/stdout in nginx.conf), here a file
        with self.access_log.open("ab") as log:
            self.nginx = subprocess.Popen(nginx_command(self.folder / "nginx"), stdout=log,
                                          stderr=subprocess.STDOUT)
        wait_healthy(self.url, self.nginx, "nginx", self.error_log, seconds=20)
        return self

    def server(self, address: str) -> AppServer:
        """The app server that a X-Margin-Lab-Server value names (the last one tried)."""
        last = address.split(",")[-1].strip()
        return next(s for s in self.servers if s.address == last)

    def stop(self) -> None:
        if self.nginx is not None:
            stop_process(self.nginx)
        for server in self.servers:
            server.stop()

    def __enter__(self) -> "Farm":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
