"""The service's function: reports the queue it works on."""

import os


def handler(event: dict[str, object], context: object) -> dict[str, str]:
    return {"queue": os.environ["QUEUE_URL"], "version": os.environ["VERSION"]}
