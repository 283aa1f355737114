"""python -m desktop_app.cli"""

from desktop_app.core.offline import seal_environment

seal_environment()

from desktop_app.cli.main import main_process  # noqa: E402

raise SystemExit(main_process())
