"""Launch the app: `python -m desktop_app [--data-dir DIR]`.

Until the desktop window lands, this opens a "Sample" workspace holding the bundled sample
documents and starts the interactive question loop of the CLI on it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from desktop_app.core.offline import seal_environment

seal_environment()

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"
SAMPLE_WORKSPACE = "Sample"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="desktop-app", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--workspace", default=SAMPLE_WORKSPACE,
                        help="workspace to chat with (default: the sample workspace)")
    args = parser.parse_args(argv)
    from desktop_app.cli.main import main as cli_main

    data = ["--data-dir", args.data_dir] if args.data_dir else []
    if args.workspace == SAMPLE_WORKSPACE:
        print("Preparing the sample workspace (indexes the bundled documents once)...", file=sys.stderr)
        status = cli_main(["add", SAMPLE_WORKSPACE, str(SAMPLES), "--create", *data])
        if status != 0:
            return status
        print("Try: Who patented the typewriter, and when?", file=sys.stderr)
    return cli_main(["chat", args.workspace, *data])


if __name__ == "__main__":
    sys.exit(main())
