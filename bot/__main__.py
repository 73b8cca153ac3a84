"""`python -m bot` is the `nuanjing` command."""

import sys

from bot.cli import main

sys.exit(main())
