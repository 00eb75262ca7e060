"""Run the ipcf command line interface: ``python -m ipcf``."""

import sys

from .cli import main

sys.exit(main())
