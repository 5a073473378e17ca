# Makes the session-scoped ``oauth_server`` fixture available to the tests of
# the server itself. Nothing else: these tests need no Django settings and no
# database in the pytest process (the server runs in a subprocess).
from .fixture import oauth_server  # noqa: F401
