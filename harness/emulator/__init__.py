"""Dev-only: MiniStack, an IAM-enforcing AWS emulator, run locally for the end-to-end flow.

``server`` starts and stops it (stdlib only, runs in the project venv); ``launcher`` and
``iam_group_provisioner`` run inside the emulator's own venv (MiniStack pins its own botocore).
"""
