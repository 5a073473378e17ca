"""The embedded customer's own page, on another origin than the platform: a tiny http.server on
loopback (its own port: same site as the live server's `localhost`, another origin), serving a page
that frames one of our end-user pages and records every message it receives in `window.received`
(origin and data), as a customer's page would listen for them.

    with EmbeddingPage() as app:
        page.goto(app.framing(wizard_url))
        page.wait_for_function(RECEIVED % "instance.configured")

Also the helpers of the end-user page tests: an OAuth service registered for the live server's
callback, the framed page as a Playwright Frame (axe-core runs in it), the messages received.
"""

import html
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from django.urls import reverse

from tests.connections.helpers import custom_service

# The customer's page: its header, the frame, and its message listener (the customer's own
# script: the platform's pages carry none inline, the customer's page may).
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Acme app: integrations</title>
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #eef0f3; color: #1b1f24; }}
  header {{ background: #3b0a57; color: #fff; padding: 0.6rem 1rem; font-weight: 700; }}
  header span {{ font-weight: 400; opacity: 0.9; }}
  main {{ padding: 0.75rem 1rem; }}
  iframe {{ width: 100%; height: 600px; border: 1px solid #8a93a0; border-radius: 6px;
           background: #fff; }}
</style>
</head>
<body>
<header>Acme app <span>· Settings › Integrations (the customer's page, on another origin)</span></header>
<main><iframe title="Connect your apps" src="{src}"></iframe></main>
<script>
  window.received = [];
  window.addEventListener("message", function (event) {{
    window.received.push({{ origin: event.origin, data: event.data }});
  }});
</script>
</body>
</html>
"""

# For page.wait_for_function: true once a message of that type arrived.
RECEIVED = "window.received.some(m => m.data && m.data.type === %r)"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        if parts.path != "/embed":
            self.send_error(404)
            return
        src = parse_qs(parts.query).get("src", [""])[0]
        body = PAGE.format(src=html.escape(src, quote=True)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, message_format, *args):  # quiet
        pass


class EmbeddingPage:
    """Serves the customer's page at http://localhost:<port>/embed?src=<url to frame>."""

    def __init__(self, host="localhost"):
        self.host = host

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.origin = f"http://{self.host}:{self.server.server_address[1]}"
        self.server.origin = self.origin
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def framing(self, url: str) -> str:
        return f"{self.origin}/embed?{urlencode({'src': url})}"


# --- helpers of the end-user page tests ----------------------------------------------------------


def live_oauth_service(tenant, server, live_server):
    """An OAuth 2.0 service (code flow, PKCE) on the loopback provider whose registered redirect
    URI is the live server's callback for it."""
    client_id, client_secret = f"cid-{secrets.token_hex(6)}", secrets.token_urlsafe(24)
    service = custom_service(
        tenant,
        name="Acme CRM",
        auth_scheme="oauth2",
        grant_type="authorization_code",
        authorize_url=server.authorize_url,
        token_url=server.token_url,
        base_url=server.base_url + "/api",
        client_id=client_id,
        client_secret=client_secret,
        scopes_available=["read", "write"],
        scopes_default=["read"],
    )
    server.create_application(
        grant_type="authorization-code",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=[
            live_server.url + reverse("oauth-callback", kwargs={"service_id": service.pk})
        ],
        skip_authorization=True,
    )
    return service


def frame_of(page):
    """The wizard inside the customer's page, as Playwright's Frame (axe runs in it)."""
    page.wait_for_load_state()
    return next(f for f in page.frames if f.parent_frame is not None)


def received(page) -> list[dict]:
    return page.evaluate("window.received")
