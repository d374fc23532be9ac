"""``python -m programmer.cli``: the same as the ``pump-programmer`` command."""

import sys

from programmer.cli.main import main

sys.exit(main())
