"""The operators' inbox: a small server-rendered web application over the warehouse where
the people who fix data see what waits for them and decide (``crosswalk inbox``).

Standard library WSGI (``wsgiref``) and Jinja2 templates, no JavaScript: every page reads
with scripts off. Reads are GETs; every decision is a POST carrying the session's CSRF token
and goes through ``crosswalk.decisions``, as the CLI's commands do. Off the loopback address
it starts only with authentication configured (``[inbox] users`` or a trusted proxy's
header); sessions are HMAC-signed cookies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crosswalk.config import ConfigError
from crosswalk.inbox.auth import is_loopback

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from crosswalk.config import Settings


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse a non-loopback address without authentication: anyone who reaches the port
    could otherwise link, exclude and settle conflicts."""
    if not is_loopback(host) and not settings.inbox.has_authentication:
        raise ConfigError(
            f"inbox: refusing to serve on {host}, which is not a loopback address, without "
            "authentication: set inbox.users (password hashes from `crosswalk inbox "
            "--hash-password`) or inbox.proxy_user_header"
        )


def make_server(settings: Settings, host: str, port: int) -> WSGIServer:
    """The inbox's HTTP server, bound (port 0: a free one) but not yet serving. Each
    connection is served in its own thread: a browser opens connections ahead and leaves
    them idle, and two operators work at once; neither holds the other's requests."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
    from wsgiref.simple_server import make_server as wsgi_server

    from crosswalk.inbox.web import Inbox

    check_exposure(settings, host)
    secret = settings.inbox.secret
    app = Inbox(
        settings,
        secret.resolve("inbox.secret").get_secret_value().encode() if secret else None,
    )

    class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True  # an idle connection's thread holds neither exit nor close

    class Quiet(WSGIRequestHandler):
        def log_message(self, format, *args):  # the terminal shows the address, not each request
            pass

    return wsgi_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=Quiet)
