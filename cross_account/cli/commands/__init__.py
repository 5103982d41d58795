"""The commands of ``cross-account``, one module each: its flags (``add_parser``) and its action (``run``).

:mod:`cross_account.cli.main` holds the top-level parser, the flag groups the commands share, and dispatch;
:mod:`.common` is what the commands share.
"""
