"""moto's S3 server for Keepsake's tests (scripts/remote-servers.sh starts it).

moto 5 answers `PUT` with `If-None-Match: *` by checking for the key and then storing it, in
a threaded server with no lock between the two: two creators of one name at once can both
win, which real S3 never lets happen. This launcher serializes exactly those requests (and
nothing else, so uploads still run side by side), giving the conditional create S3's
semantics. The store conformance suite's "concurrent creators" check fails against bare moto.

Usage: moto-server.py HOST PORT
"""

import sys
import threading

import os

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


class SerializedConditionalPuts:
    """WSGI middleware: one conditional PUT at a time."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "PUT" and environ.get("HTTP_IF_NONE_MATCH"):
            with self.lock:
                # The whole response is produced under the lock: moto stores the key while
                # building it.
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = SerializedConditionalPuts(DomainDispatcherApplication(create_backend_app))
    run_simple(
        host,
        port,
        app,
        threaded=True,
        use_reloader=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
