"""``testfleet dashboard [--db PATH] [--host H] [--port N]``: the history in the browser."""

from __future__ import annotations

import argparse
from typing import Any

from testfleet.cli.storeopts import add_db_option

DEFAULT_PORT = 8340


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dashboard", help="serve the history of the results store as web pages")
    add_db_option(parser)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs a token)",
    )
    parser.add_argument(
        "--port",
        default=str(DEFAULT_PORT),
        metavar="N",
        help=f"port to listen on (default {DEFAULT_PORT}; 0: a free port)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="token the pages ask for (default: generated when --host is not loopback)",
    )
    parser.set_defaults(func=run)


def run(ns: argparse.Namespace) -> int:
    import signal

    from testfleet.cli.storeopts import db_path
    from testfleet.config import parse_int
    from testfleet.console import abort, out
    from testfleet.errors import StoreError, UsageError

    try:
        port = parse_int("--port", ns.port)
        if port > 65535:
            raise UsageError(f"--port: {ns.port!r} is not a port (0-65535)")
        from testfleet.dashboard.app import check_installed

        check_installed("testfleet dashboard")
    except UsageError as exc:
        abort(str(exc), 4)
    if ns.db is not None and ns.db.lower() == "none":
        abort("--db none keeps no results, so there is nothing to show; pass the path of a results file", 4)
    path = db_path(ns.db)
    if not path.is_file():
        abort(
            f"no results store at {path} (no run has stored results there yet; "
            f"{'pass --db PATH' if ns.db is None else 'check the --db path'})",
            4,
        )
    from testfleet.dashboard.app import Guard, ServerThread, bind, is_loopback, resolve_token, url
    from testfleet.dashboard.history import HistoryReader
    from testfleet.dashboard.history_app import history_app

    reader = HistoryReader(path)
    try:
        with reader.session():
            pass  # a file that is not a results store fails here, not on the first page
        token = resolve_token(ns.host, ns.token)
        sock = bind(ns.host, port)
    except StoreError as exc:
        abort(str(exc), 1)
    except UsageError as exc:
        abort(str(exc).replace("--dashboard", "--host/--port"), 4)
    server = ServerThread(lambda: Guard(history_app(reader), token, is_loopback(ns.host)), sock)
    out().print(
        f"testfleet: history of {path} at {url(ns.host, sock.getsockname()[1], token)} (Ctrl-C stops)",
        markup=False,
        highlight=False,
    )
    out().file.flush()
    server.start()
    stopping = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while server.thread.is_alive() and not stopping:
            server.thread.join(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
        reader.close()
    return 0
