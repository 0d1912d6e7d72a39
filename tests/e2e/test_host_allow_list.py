"""DNS rebinding: the dashboard's WebSocket (every page's data goes through it) answers only to
the host names in .streamlit/config.toml's ``server.allowedHosts``, whatever name a request
arrived under."""

from __future__ import annotations

import base64
import os
import socket
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.e2e


def upgrade_status(url: str, host: str) -> str:
    """The status line the server sends to a WebSocket handshake for /_stcore/stream sent with ``host``."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        key = base64.b64encode(os.urandom(16)).decode()
        connection.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                            "\r\n").encode())
        return connection.makefile("rb").readline().decode().strip()


def test_a_request_under_another_host_name_is_refused(app_url):
    port = urlparse(app_url).port
    assert upgrade_status(app_url, f"127.0.0.1:{port}").startswith("HTTP/1.1 101")
    assert upgrade_status(app_url, f"localhost:{port}").startswith("HTTP/1.1 101")
    assert upgrade_status(app_url, f"evil.example:{port}").startswith("HTTP/1.1 403")
    assert upgrade_status(app_url, "evil.example").startswith("HTTP/1.1 403")
