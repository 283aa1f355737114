"""python -m desktop_app.eval retrieval DIR | qa FILE  (see --help)"""

from desktop_app.core.offline import seal_environment

seal_environment()

from desktop_app.eval.cli import main  # noqa: E402

raise SystemExit(main())
