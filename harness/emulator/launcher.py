"""Start MiniStack with our two patches registered (run with the emulator venv's python).

``python -m harness.emulator.launcher`` registers the ``AWS::IAM::Group`` provisioner and the
``cloudformation`` tag collector in this process, then hands over to MiniStack's own ``main()``, so
the server's CloudFormation knows the group type and IAM sees stack tags (``aws:ResourceTag``). Configuration
comes from the environment MiniStack reads (BIND_HOST, GATEWAY_PORT, AUTH, ...), set by server.py.
"""

from __future__ import annotations

import sys

from harness.emulator import cfn_tag_collector, iam_group_provisioner


def main() -> None:
    iam_group_provisioner.register()
    cfn_tag_collector.register()
    import ministack.app  # type: ignore[import-not-found]

    # With USE_SSL, MiniStack also binds port 443 when it can (root can): 127.0.0.1 on our free port only.
    ministack.app._port_is_bindable = lambda host, port: False
    ministack_main = ministack.app.main

    sys.argv = [sys.argv[0]]  # MiniStack parses its own flags (-d, --stop); we pass none.
    ministack_main()


if __name__ == "__main__":
    main()
