"""Internals the constructs share, as aws-cdk keeps them in ``private/``: not part of the package's API."""
