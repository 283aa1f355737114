"""Argument parsing and dispatch; every command is a thin call into the core."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from desktop_app.core.offline import seal_environment

seal_environment()

from desktop_app.core.errors import AppError, UserError  # noqa: E402

from . import commands  # noqa: E402
from .models import add_models_parser  # noqa: E402
from .server import add_server_parser  # noqa: E402

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_USER, EXIT_INTERNAL = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """Usage errors are user errors: exit code 1, not argparse's 2 (which means internal here)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER, f"error: {message}\n")


def _add_only(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", nargs="+", default=(), metavar="PATH",
                        help="search these documents or folders of the workspace only")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--data-dir", help="where workspaces live (default: $DESKTOP_APP_HOME or "
                        "the user data folder)", default=argparse.SUPPRESS)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    parser = _Parser(prog="desktop-app", parents=[common],
                     description="Private, offline chat with your own documents.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ws = sub.add_parser("workspace", parents=[common], help="create, list, rename or delete workspaces")
    ws_sub = ws.add_subparsers(dest="action", required=True, parser_class=_Parser)
    create = ws_sub.add_parser(
        "create", parents=[common],
        description="A workspace on this computer, or with --shared, one whose passages live on "
                    "a Chroma server that others use too (behind a TLS proxy that checks a "
                    "token: save it first with `server key --url URL`).")
    create.add_argument("name")
    create.add_argument("--shared", metavar="URL",
                        help="the Chroma server (https://host[:port], through its proxy)")
    create.add_argument("--collection", metavar="NAME",
                        help="the shared workspace's name on the server (default: this name)")
    create.add_argument("--ca-bundle", metavar="PEM", default="",
                        help="trust the server's certificate from this authority")
    create.add_argument("--no-verify-tls", action="store_true",
                        help="do not check the server's certificate (a test server only)")
    create.add_argument("--allow-http", action="store_true",
                        help="allow plain http:// to another computer (a trusted network only)")
    ws_sub.add_parser("list", parents=[common]).add_argument("--json", action="store_true")
    rename = ws_sub.add_parser("rename", parents=[common])
    rename.add_argument("name")
    rename.add_argument("new_name")
    ws_sub.add_parser("delete", parents=[common]).add_argument("name")

    add = sub.add_parser("add", parents=[common], help="index files and folders")
    add.add_argument("workspace")
    add.add_argument("paths", nargs="+")
    add.add_argument("--force", action="store_true", help="re-index even unchanged files")
    add.add_argument("--create", action="store_true", help="create the workspace if it is missing")

    for name, about in (("watch", "keep folders in sync: index them now and on every sync"),
                        ("unwatch", "stop keeping folders in sync (their documents stay)")):
        watch = sub.add_parser(name, parents=[common], help=about)
        watch.add_argument("workspace")
        watch.add_argument("folders", nargs="+")
    sync = sub.add_parser("sync", parents=[common],
                          help="index what changed in the watched folders")
    sync.add_argument("workspace")
    sync.add_argument("--follow", action="store_true",
                      help="keep running: sync again whenever files in them change")
    sync.add_argument("--list", action="store_true", help="list the watched folders")

    remove = sub.add_parser("remove", parents=[common], help="remove documents from a workspace")
    remove.add_argument("workspace")
    remove.add_argument("paths", nargs="+")

    docs = sub.add_parser("docs", parents=[common], help="status of each document")
    docs.add_argument("workspace")
    docs.add_argument("--json", action="store_true")

    for name, about in (("pin", "always give these documents to the model with every question"),
                        ("unpin", "stop pinning documents")):
        pin = sub.add_parser(name, parents=[common], help=about)
        pin.add_argument("workspace")
        pin.add_argument("paths", nargs="+", metavar="PATH", help="documents or folders")

    reindex = sub.add_parser("reindex", parents=[common], help="rebuild the index from scratch")
    reindex.add_argument("workspace")

    search = sub.add_parser("search", parents=[common], help="show the passages retrieval returns")
    search.add_argument("workspace")
    search.add_argument("query")
    search.add_argument("-k", "--top-k", type=int, default=None)
    search.add_argument("--json", action="store_true")
    search.add_argument("--explain", action="store_true", help="show dense, keyword and fused ranks")
    _add_only(search)

    ask = sub.add_parser("ask", parents=[common], help="answer a question with cited passages")
    ask.add_argument("workspace")
    ask.add_argument("question")
    ask.add_argument("--thread", type=int, default=None, help="continue a chat thread")
    ask.add_argument("--replace-last", action="store_true",
                     help="with --thread: this question and its answer replace the thread's last "
                          "ones (regenerate, or edit and resend)")
    _add_only(ask)
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--explain", action="store_true")

    chat = sub.add_parser("chat", parents=[common], help="interactive questions in one thread")
    chat.add_argument("workspace")

    threads = sub.add_parser("threads", parents=[common], help="list chat threads, or export one")
    threads.add_argument("workspace")
    threads.add_argument("--json", action="store_true")
    threads.add_argument("--search", default="", metavar="TEXT",
                         help="only threads whose title or messages contain TEXT")
    threads.add_argument("--export", type=int, metavar="THREAD",
                         help="print that thread as Markdown, with the passages it cites")

    add_models_parser(sub, common)
    add_server_parser(sub, common)

    settings = sub.add_parser("settings", parents=[common], help="show or change settings")
    settings.add_argument("--workspace", default=None, help="override for one workspace only")
    settings.add_argument("assignments", nargs="*", metavar="KEY=VALUE")
    return parser


def main_process(argv: Sequence[str] | None = None) -> int:
    """`main` as a process of its own: a crash inside llama.cpp is written down as it happens,
    and said once at the next start, which runs llama.cpp in a safer configuration."""
    from desktop_app.core.models.engine_check import EngineChecks

    checks = EngineChecks()
    notice = checks.collect_crashes()
    if notice:
        print(f"note: {notice}.", file=sys.stderr)
    checks.arm_crash_record()
    return main(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return commands.run(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_USER
    except BrokenPipeError:
        # Whoever read the output stopped (`| head`): nothing is wrong and nobody is listening.
        # Point stdout at nothing so that flushing it at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_USER
    except AppError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence: say what broke
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
