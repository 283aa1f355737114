"""The frozen app's entry point: the window, the CLI, `--self-test` and `--version`."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the indexing engine runs in a spawned child process
    from desktop_app.__main__ import main

    sys.exit(main())
