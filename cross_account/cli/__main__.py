"""`python -m cross_account.cli`: the same as the `cross-account` console script."""

import sys

from cross_account.cli import main

sys.exit(main())
