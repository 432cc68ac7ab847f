"""``python -m dlgrader COMMAND``: the instructor's commands (see dlgrader.cli)."""

import sys

from dlgrader.cli import main

sys.exit(main())
