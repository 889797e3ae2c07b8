"""Start Margin Lab as a production server: ``python deploy/serve.py [--address A] [--port P]``.

The one entry command of the deployment: the container runs it (``deploy/Dockerfile``) and so
does the many-server test (``tests/servers``), so both start the app the same way. It runs
``streamlit run app.py`` from the project folder, so the project's ``.streamlit/config.toml``
(theme, runner) applies, with every option of ``deploy/streamlit-config.toml`` as a command-line
flag on top (XSRF protection, the upload limit, no error details for visitors, the toolbar in
viewer mode, no file watcher, headless). What differs per deployment comes from the
environment, which Streamlit reads itself: ``STREAMLIT_SERVER_COOKIE_SECRET`` (the same on every
replica) and the app's own ``MARGIN_LAB_DATABASE_URL``; and ``MARGIN_LAB_HOSTS``, the names the
deployment answers to (as ``nginx/hosts.conf``), passed as Streamlit's ``server.allowedHosts``.

The address and port default to ``MARGIN_LAB_ADDRESS`` and ``MARGIN_LAB_PORT``, else
0.0.0.0:8501 (the container's). The process becomes Streamlit (``exec``), so a signal to it
reaches the server.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Path(__file__).resolve().parent / "streamlit-config.toml"
HOSTS_ENV = "MARGIN_LAB_HOSTS"  # the names the deployment answers to, as nginx/hosts.conf lists them
DEFAULT_HOSTS = "localhost,127.0.0.1"


def flag_value(value: object) -> str:
    """A TOML value as Streamlit's command line takes it (``true``, ``5``, ``none``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings_flags(settings: dict[str, dict[str, object]]) -> list[str]:
    """``{"server": {"maxUploadSize": 5}}`` -> ``["--server.maxUploadSize", "5"]``.

    >>> settings_flags({"server": {"headless": True, "maxUploadSize": 5}, "client": {"toolbarMode": "viewer"}})
    ['--server.headless', 'true', '--server.maxUploadSize', '5', '--client.toolbarMode', 'viewer']
    """
    flags: list[str] = []
    for section, options in settings.items():
        for name, value in options.items():
            flags += [f"--{section}.{name}", flag_value(value)]
    return flags


def host_flags(hosts: str) -> list[str]:
    """``MARGIN_LAB_HOSTS`` (names separated by commas) as Streamlit's ``server.allowedHosts``:
    a websocket whose Host is not one of them is refused (DNS rebinding). Empty: any Host.

    >>> host_flags("margin.example.org, localhost")
    ['--server.allowedHosts', 'margin.example.org', '--server.allowedHosts', 'localhost']
    """
    flags: list[str] = []
    for name in (part.strip() for part in hosts.split(",")):
        if name:
            flags += ["--server.allowedHosts", name]
    return flags


def serve_command(address: str, port: int, python: str = sys.executable) -> list[str]:
    """The full ``streamlit run`` command line for one app server."""
    settings = tomllib.loads(SETTINGS.read_text())
    return [python, "-m", "streamlit", "run", str(ROOT / "app.py"), *settings_flags(settings),
            *host_flags(os.environ.get(HOSTS_ENV, DEFAULT_HOSTS)),
            "--server.address", address, "--server.port", str(port)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default=os.environ.get("MARGIN_LAB_ADDRESS", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MARGIN_LAB_PORT", "8501")))
    args = parser.parse_args(argv)
    command = serve_command(args.address, args.port)
    os.chdir(ROOT)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
