"""A fast local OAuth token endpoint for bench/refresh.py: answers every POST with a fresh token
response (rotating refresh token, expires_in 3600) and counts requests. No validation: the point
is to measure the client side.

    python -m bench.fast_token_server --port 0   # prints "READY <port>"
    python -m bench.fast_token_server --port 0 --delay-ms 100   # a provider 100 ms away
"""

import argparse
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNT = {"token_requests": 0}
LOCK = threading.Lock()
DELAY = {"seconds": 0.0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for clients that reuse connections
    # One write per response and no Nagle delay: otherwise delayed ACKs add ~40 ms per request.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def _send(self, status: int, payload: dict):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if DELAY["seconds"]:
            time.sleep(DELAY["seconds"])  # network and provider latency
        with LOCK:
            COUNT["token_requests"] += 1
        self._send(
            200,
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": "read write",
            },
        )

    def do_GET(self):  # noqa: N802
        with LOCK:
            self._send(200, dict(COUNT))

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0)
    args = parser.parse_args()
    DELAY["seconds"] = args.delay_ms / 1000
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
