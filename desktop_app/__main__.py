"""Launch the app: `python -m desktop_app [--data-dir DIR] [--self-test] [--version]`.

Opens the desktop window. On a machine without a display (a server, an SSH session) it starts
the command line's question loop on a "Sample" workspace of bundled documents instead.
"""

from __future__ import annotations

import os
import sys

from desktop_app import ASSETS
from desktop_app.core.offline import seal_environment

seal_environment()

SAMPLES = ASSETS / "samples"
SAMPLE_WORKSPACE = "Sample"
CLI_COMMANDS = {"workspace", "add", "remove", "docs", "search", "ask", "chat", "threads",
                "reindex", "settings", "models", "pin", "unpin", "server", "watch", "unwatch",
                "sync"}


def _has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _terminal_loop(argv: list[str]) -> int:
    from desktop_app.cli.main import main as cli_main
    from desktop_app.cli.main import main_process

    data = argv[argv.index("--data-dir"):argv.index("--data-dir") + 2] if "--data-dir" in argv else []
    print("No display found: starting the question loop in this terminal.", file=sys.stderr)
    status = main_process(["add", SAMPLE_WORKSPACE, str(SAMPLES), "--create", *data])
    if status != 0:
        return status
    print("Try: Who patented the typewriter, and when?", file=sys.stderr)
    return cli_main(["chat", SAMPLE_WORKSPACE, *data])


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--engine-probe"]:  # a child of the app proving llama.cpp decodes here
        from desktop_app.core.models.engine_check import run_probe

        return run_probe(args[1:])
    if "--self-test" in args:
        from desktop_app.self_test import run_self_test

        return run_self_test()
    if "--version" in args:
        from desktop_app.build_info import describe_build

        print(describe_build())
        return 0
    words = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] != "--data-dir")]
    if words and words[0] in CLI_COMMANDS:  # the installed app's command line: `desktop-app ask …`
        from desktop_app.cli.main import main_process

        return main_process(args)
    if not _has_display():
        return _terminal_loop(args)
    from desktop_app.system_libraries import window_libraries_problem

    problem = window_libraries_problem()  # before Qt, whose own message names none of them
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    from desktop_app.app import main as window_main

    return window_main(args)


if __name__ == "__main__":
    sys.exit(main())
