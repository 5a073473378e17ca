"""Runtime state of the test authorization server: counters, faults, lifetimes.

This module must not import Django models: ``settings.py`` imports it (for the
access-token lifetime callable) before the app registry is ready.

The server is one process with one thread per connection, so a single
``threading.Lock`` makes every counter update and fault consumption atomic.
"""

import collections
import copy
import threading

# Runtime-tunable settings and their defaults. ``POST /control/reset`` restores
# these values.
DEFAULT_SETTINGS = {
    # Lifetime of newly issued access tokens (the ``expires_in`` of responses).
    "access_token_seconds": 3600,
    # Lifetime of newly issued refresh tokens, counted from issuance; ``None``
    # means refresh tokens never age out.
    "refresh_token_seconds": None,
    # Add ``refresh_token_expires_in`` to successful token responses that carry
    # a refresh token (only when ``refresh_token_seconds`` is set).
    "include_refresh_token_expires_in": False,
    # RFC 9207: add ``iss`` to the authorization response redirect.
    "include_iss": False,
    # The ``iss`` value; ``None`` means the server's own issuer
    # (``<base_url>/o``, the same value as in its RFC 8414 metadata).
    "issuer": None,
    # DOT's REFRESH_TOKEN_GRACE_PERIOD_SECONDS: for this long after a rotation the previous
    # refresh token still works once more (a client that never received the rotated answer
    # retries with it), as Xero's 30 minutes do.
    "refresh_token_grace_seconds": 0,
    # DOT's ROTATE_REFRESH_TOKEN: a refresh issues a new refresh token (and spends the old one).
    # Off, the refresh token lives on, as Google's do.
    "rotate_refresh_tokens": True,
    # Static API key accepted by ``/api/echo`` in ``api_key_header``; ``None``
    # disables API-key authentication.
    "api_key": None,
    "api_key_header": "X-Api-Key",
}

# Token-endpoint fault modes. ``slow``/``status`` take an argument after a
# colon (``slow:2.5``, ``status:503``).
FAULT_MODES = (
    "slow",
    "status",
    "html",
    "error_200",
    "no_access_token",
    "no_expires_in",
    "no_refresh_token",
    "invalid_grant",
    # expires_in:<raw JSON value>, e.g. expires_in:1e400 (a number no datetime can hold).
    "expires_in",
)

# How many token-endpoint requests ``GET /control/token_requests`` keeps.
TOKEN_LOG_SIZE = 500


def _new_counters():
    return {
        # Every request that reached /o/token/, faulted or not.
        "token_requests": 0,
        # The same, by the form's grant_type ("" when it was missing).
        "token_requests_by_grant_type": {},
        # Responses actually sent by /o/token/, by HTTP status (as a string).
        "token_responses_by_status": {},
        # Refresh requests that DOT itself refused (4xx from the real grant
        # handling, e.g. a reused, revoked or expired refresh token).
        # Injected faults are not counted here.
        "refresh_refused": 0,
        # Token requests whose response came from an injected fault.
        "faults_applied": 0,
        # Requests to /o/revoke_token/ and /o/introspect/.
        "revoke_requests": 0,
        "introspect_requests": 0,
        # GET/POST requests to /o/authorize/.
        "authorize_requests": 0,
        # Requests to /api/echo and how many of them were refused with 401.
        "api_requests": 0,
        "api_unauthorized": 0,
    }


class ServerState:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.settings = dict(DEFAULT_SETTINGS)
            self.fault = None
            self.counters = _new_counters()
            self.token_log = collections.deque(maxlen=TOKEN_LOG_SIZE)
            self.last_revoke_request = None

    # -- settings -----------------------------------------------------------

    def get_setting(self, name):
        with self.lock:
            return self.settings[name]

    def update_settings(self, values):
        with self.lock:
            self.settings.update(values)
            return dict(self.settings)

    def settings_snapshot(self):
        with self.lock:
            return dict(self.settings)

    # -- counters -----------------------------------------------------------

    def incr(self, name, amount=1):
        with self.lock:
            self.counters[name] += amount

    def record_token_request(self, entry):
        """Count a token-endpoint request and keep its details.

        Returns the sequence number of the request (1-based), which the view
        uses to attach the response status to the right log entry.
        """
        grant_type = entry["grant_type"]
        with self.lock:
            self.counters["token_requests"] += 1
            by_grant = self.counters["token_requests_by_grant_type"]
            by_grant[grant_type] = by_grant.get(grant_type, 0) + 1
            entry["seq"] = self.counters["token_requests"]
            self.token_log.append(entry)
            return entry["seq"]

    def record_token_response(self, entry, status, faulted, refused_refresh):
        with self.lock:
            by_status = self.counters["token_responses_by_status"]
            by_status[str(status)] = by_status.get(str(status), 0) + 1
            if faulted:
                self.counters["faults_applied"] += 1
            if refused_refresh:
                self.counters["refresh_refused"] += 1
            # ``entry`` is the dict stored in token_log: fill in the outcome.
            entry["response_status"] = status
            entry["fault"] = faulted

    def counters_snapshot(self):
        with self.lock:
            return copy.deepcopy(self.counters)

    def token_log_snapshot(self):
        with self.lock:
            return copy.deepcopy(list(self.token_log))

    # -- faults ---------------------------------------------------------------

    def set_fault(self, fault):
        with self.lock:
            self.fault = fault

    def fault_snapshot(self):
        with self.lock:
            return copy.deepcopy(self.fault)

    def take_fault(self, grant_type):
        """Consume one use of the active fault if it applies to ``grant_type``.

        Returns a copy of the fault to apply, or ``None``. A fault with
        ``remaining`` of ``None`` applies until it is cleared.
        """
        with self.lock:
            fault = self.fault
            if fault is None:
                return None
            if fault["grant_type"] is not None and fault["grant_type"] != grant_type:
                return None
            if fault["remaining"] is not None:
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.fault = None
            return dict(fault)


STATE = ServerState()


def access_token_expires_in(request):
    """oauthlib ``token_expires_in`` callable: read at every token issuance.

    oauthlib builds the token server once and caches it, so a plain integer
    setting could not be changed at runtime; a callable can.
    """
    return STATE.get_setting("access_token_seconds")
