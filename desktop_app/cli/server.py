"""`server key|forget|check`: the OpenAI-compatible server that answers instead of a local model."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from desktop_app.core import Library
from desktop_app.core.answer.remote_llm import RemoteModel
from desktop_app.core.backends import server_config
from desktop_app.core.errors import UserError

__all__ = ["add_server_parser", "run_server"]


def add_server_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    server = sub.add_parser(
        "server", parents=[common], help="the inference server that answers (settings server_url)",
        description="Answers come from an OpenAI-compatible server when the setting server_url "
                    "names one (settings server_url=https://host/v1 server_model=NAME).")
    actions = server.add_subparsers(dest="action", required=True)
    key = actions.add_parser("key", parents=[common],
                             help="save the server's API key (read from the terminal or stdin)")
    forget = actions.add_parser("forget", parents=[common], help="delete the saved API key")
    for parser in (key, forget):
        parser.add_argument("--url", help="the server (default: the setting server_url)")
    check = actions.add_parser("check", parents=[common],
                               help="connect, and show the models, context size and token counting")
    check.add_argument("--json", action="store_true")


def run_server(library: Library, args: argparse.Namespace) -> int:
    if args.action == "check":
        if not library.settings.server_url:
            raise UserError("no server is set: settings server_url=https://HOST/v1 first")
        model = RemoteModel(server_config(library.settings, library.keys))
        try:
            facts = model.facts()
        finally:
            model.close()
        print(json.dumps(facts, indent=2) if args.json
              else "\n".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}"
                             for k, v in facts.items()))
        return 0
    url = args.url or library.settings.server_url
    if not url:
        raise UserError("which server? give --url, or set server_url first")
    if args.action == "forget":
        found = library.keys.delete(url)
        print(f"key for {url} {'deleted' if found else 'was not saved'}", file=sys.stderr)
        return 0
    # Never from the command line: it would stay in the shell's history.
    secret = getpass.getpass(f"API key for {url}: ") if sys.stdin.isatty() else sys.stdin.readline()
    if not secret.strip():
        raise UserError("no key given")
    where = library.keys.save(url, secret.strip())
    print(f"key for {url} saved in {where}", file=sys.stderr)
    return 0
