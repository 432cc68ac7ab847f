"""``python -m dlutils COMMAND``: the instructor's commands (see dlutils.cli)."""

import sys

from dlutils.cli import main

sys.exit(main())
