"""Say in one clear line when PostgreSQL or Redis is not reachable, and how to start them."""

import os
import socket
import sys
from urllib.parse import urlparse

HINT = "start it with `docker compose up -d db redis`, or point {var} at a running server"


def reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3
        ):
            return True
    except OSError:
        return False


problems = []
for var, name, port in (("DATABASE_URL", "PostgreSQL", 5432), ("REDIS_URL", "Redis", 6379)):
    url = os.environ[var]
    if not reachable(url, port):
        parsed = urlparse(url)
        problems.append(
            f"{name} is not reachable at {parsed.hostname}:{parsed.port or port}: "
            + HINT.format(var=var)
        )
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(2)
