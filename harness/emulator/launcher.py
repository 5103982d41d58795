"""Start MiniStack with the ``AWS::IAM::Group`` provisioner registered (run with the emulator venv's python).

``python -m harness.emulator.launcher`` registers the provisioner in this process, then hands over
to MiniStack's own ``main()``, so the server's CloudFormation knows the group type. Configuration
comes from the environment MiniStack reads (BIND_HOST, GATEWAY_PORT, AUTH, ...), set by server.py.
"""

from __future__ import annotations

import sys

from harness.emulator.iam_group_provisioner import register


def main() -> None:
    register()
    from ministack.app import main as ministack_main  # type: ignore[import-not-found]

    sys.argv = [sys.argv[0]]  # MiniStack parses its own flags (-d, --stop); we pass none.
    ministack_main()


if __name__ == "__main__":
    main()
