"""The test suite's resolver (settings.EGRESS_RESOLVER in config/settings/test.py): host names
answer from a table, so no test waits on DNS. Production uses infrastructure.egress.system_resolver;
tests/infrastructure/test_resolver.py keeps one test on the real one.

- literal addresses, in every form the C library parses without DNS (dotted, decimal like
  2130706433, octal, IPv6), resolve to themselves;
- names in TABLE resolve to their addresses (the `hosts` fixture adds names for one test);
- any other name does not resolve (socket.gaierror), like a name DNS does not know.
"""

import socket

TABLE: dict[str, list[str]] = {"localhost": ["127.0.0.1"]}


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        pass
    else:
        return [info[4][0] for info in infos]
    addresses = TABLE.get(host.lower().rstrip("."))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test resolver's table")
    return list(addresses)
