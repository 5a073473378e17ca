"""The embedded backend flow, end to end, as an embedded customer's backend runs it.

Against the platform that `scripts/run` starts (its demo organization `demo` has both editions):

    EGRESS_ALLOW_INSECURE_LOCAL=true scripts/run                       # terminal 1
    KEY=$(.venv/bin/python manage.py create_api_key demo)              # terminal 2
    OWNER_KEY=$(.venv/bin/python manage.py create_api_key demo --member owner@demo.example)
    .venv/bin/python docs/examples/embedded_backend.py --key "$KEY" --owner-key "$OWNER_KEY"

It starts a small stand-in for a third-party API on 127.0.0.1 (so it needs no internet; that is
why the platform runs with EGRESS_ALLOW_INSECURE_LOCAL, which lets it call plain-http loopback
addresses — never in production), then:

1. as the org owner (only the owner defines custom services of the embedded workspace), defines
   the API as a token custom service there;

and from then on with nothing but the organization API key, as the customer's backend:

2. builds a project with one auth slot and one config slot, makes a solution of it, publishes it;
3. creates an end user and imports the API key they already gave the customer;
4. gets a one-time authorization code and the config-wizard URL for them;
5. creates their instance (auth bound, config set), enables it;
6. calls the API by slot: the platform injects the end user's key, the backend never holds it;
7. deletes the end user (and with them their auths and instances).

Every step prints what it sent and what came back. Exits non-zero at the first refusal.
"""

import argparse
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class StandInApi(BaseHTTPRequestHandler):
    """A third-party API that knows one key and answers GET /contacts."""

    key = ""

    def do_GET(self):
        if self.headers.get("X-Api-Key") != self.key:
            self._answer(401, {"error": "unknown key"})
        elif self.path.startswith("/contacts"):
            self._answer(200, {"contacts": [{"name": "Ada"}], "path": self.path})
        else:
            self._answer(404, {"error": "no such path"})

    def _answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


def stand_in_api_start() -> tuple[ThreadingHTTPServer, str]:
    StandInApi.key = f"end-user-key-{secrets.token_hex(8)}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandInApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


class Platform:
    def __init__(self, base_url: str, key: str, organization: str):
        self.api = f"{base_url.rstrip('/')}/api/organizations/{organization}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Api-Key {key}"

    def call(self, method: str, path: str, body=None, expect=(200, 201, 204)):
        response = self.session.request(method, f"{self.api}{path}", json=body, timeout=30)
        print(f"{method} {path} -> {response.status_code}")
        if response.status_code not in expect:
            sys.exit(f"Refused: {response.text}")
        return response.json() if response.content else None


def walk(base_url: str, key: str, owner_key: str, organization: str) -> dict:
    """The whole flow; returns what the provider answered to the call by slot."""
    provider, provider_url = stand_in_api_start()
    owner = Platform(base_url, owner_key, organization)
    platform = Platform(base_url, key, organization)
    try:
        workspaces = platform.call("GET", "/workspaces/?limit=100")["results"]
        embedded = next(w["id"] for w in workspaces if w["kind"] == "embedded")

        # 1. The owner defines the third-party API as a token custom service.
        service = owner.call(
            "POST",
            "/custom-services/",
            {
                "name": f"Contacts API {secrets.token_hex(3)}",
                "workspace": embedded,
                "auth_scheme": "token",
                "base_url": provider_url,
                "credential_placement": "header",
                "credential_header_name": "X-Api-Key",
                "credential_prefix": "",
            },
        )

        # 2. A project (one auth slot, one config slot), made a solution and published.
        project = platform.call(
            "POST",
            "/projects/",
            {
                "workspace": embedded,
                "name": "Contacts sync",
                "auth_slots": [
                    {"external_id": "contacts", "title": "Your contacts", "service": service["id"]}
                ],
                "config_slots": [
                    {
                        "external_id": "region",
                        "title": "Region",
                        "type": "select",
                        "choices": ["eu", "us"],
                        "required": True,
                    }
                ],
            },
        )
        solution = platform.call("POST", "/solutions/", {"project": project["id"]})
        platform.call("POST", f"/solutions/{solution['id']}/publish/")

        # 3. The customer's user, and the key they already gave the customer.
        end_user = platform.call(
            "POST",
            "/end-users/",
            {"external_user_id": f"customer-{secrets.token_hex(4)}", "name": "Pat"},
        )
        auth = platform.call(
            "POST",
            f"/end-users/{end_user['id']}/authentications/",
            {"service": service["id"], "credentials": {"api_key": StandInApi.key}},
        )

        # 4. A one-time code: the end user could configure the solution themselves here.
        code = platform.call(
            "POST",
            f"/end-users/{end_user['id']}/authorization-codes/",
            {"solution": solution["id"]},
        )
        print(f"   config wizard for the end user (one use, 10 minutes): {code['wizard_url']}")

        # 5. Or the backend sets the instance up itself: bound, configured, enabled.
        instance = platform.call(
            "POST",
            "/instances/",
            {
                "solution": solution["id"],
                "end_user": end_user["id"],
                "auth_values": [{"external_id": "contacts", "authentication_id": auth["id"]}],
                "config_values": {"region": "eu"},
            },
        )
        platform.call("POST", f"/instances/{instance['id']}/enable/")

        # 6. Call the API by slot: the platform adds the end user's key.
        result = platform.call(
            "POST",
            f"/instances/{instance['id']}/request/",
            {"slot": "contacts", "method": "GET", "path": "/contacts", "query": {"region": "eu"}},
        )
        print(f"   the API answered {result['status']}: {result['body']}")

        # 7. The end user leaves the customer's product.
        summary = platform.call("DELETE", f"/end-users/{end_user['id']}/")
        print(f"   deleted: {summary}")
        return result
    finally:
        provider.shutdown()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True, help="an organization API key")
    parser.add_argument("--owner-key", required=True, help="a personal API key of the org owner")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--organization", default="demo")
    args = parser.parse_args(argv)
    result = walk(args.base_url, args.key, args.owner_key, args.organization)
    return 0 if result["status"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
