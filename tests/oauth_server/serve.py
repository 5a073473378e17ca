"""Run the test authorization server.

    python -m tests.oauth_server.serve --port 8123 --db /tmp/x/oauth.sqlite3

Run from the repository root. Migrates its own SQLite database, then serves
on 127.0.0.1 with a threaded WSGI server and prints ``READY <base_url>``.
Set OAUTH_TEST_SERVER_VERBOSE=1 to log each request to stderr.
"""

import argparse
import os
import sys
import threading
import time
import warnings


def _exit_with_parent():
    """Stop when the process that started us goes away (e.g. a killed pytest)."""
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", required=True, help="SQLite file (created if missing)")
    args = parser.parse_args(argv)

    # Always our own settings, whatever the caller's environment says (the
    # main project's pytest config sets DJANGO_SETTINGS_MODULE).
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oauth_server.settings"
    os.environ["OAUTH_TEST_SERVER_DB"] = args.db
    # DOT warns about the password grant and query-string tokens on each use.
    warnings.simplefilter("ignore", DeprecationWarning)

    import django

    django.setup()

    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    connections.close_all()

    class Server(ThreadedWSGIServer):
        # The listen backlog: tests open 50+ connections at once.
        request_queue_size = 256

    httpd = Server((args.host, args.port), WSGIRequestHandler)
    httpd.set_app(get_wsgi_application())

    threading.Thread(target=_exit_with_parent, daemon=True).start()
    sys.stdout.write(f"READY http://{args.host}:{args.port}\n")
    sys.stdout.flush()
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
