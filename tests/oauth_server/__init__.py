"""A real OAuth 2.0 authorization server (django-oauth-toolkit) for tests.

The server is a tiny, separate Django project that runs in a subprocess on
127.0.0.1 with its own settings, its own SQLite file and its own
INSTALLED_APPS. It never imports the main project.

- ``serve.py``: entry point (``python -m tests.oauth_server.serve --port N --db F``).
- ``fixture.py``: the session-scoped ``oauth_server`` pytest fixture and the
  ``OAuthServer`` client used to drive it.
- ``views.py``: DOT endpoints wrapped with counters and fault injection, the
  ``/control/`` API, the login page and the ``/api/`` resource endpoints.
- ``state.py``: the in-process runtime state (counters, faults, lifetimes).

Nothing in this package may import the main project's code.
"""
