"""``python -m harness.simulate [cdk.out]``: see :func:`harness.simulate.cli.main`."""

import sys

from harness.simulate.cli import main

if __name__ == "__main__":
    sys.exit(main())
