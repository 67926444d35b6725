"""`python -m app <command>`: the same commands as `trantib`."""

import sys

from app.cli import main

sys.exit(main())
