"""Whether the Hugging Face hub can be reached, and reading the `datasets` cache without it.

A machine without internet access costs `datasets` about 30 seconds of retries before it says
so; one short TCP probe first tells the two cases apart in a few seconds.
"""

import contextlib
import socket
import threading
from collections.abc import Iterator
from unittest import mock

PROBE_HOST = "huggingface.co"
PROBE_PORT = 443
PROBE_TIMEOUT_S = 5.0


def internet_reachable(
    host: str = PROBE_HOST, port: int = PROBE_PORT, timeout: float = PROBE_TIMEOUT_S
) -> bool:
    """Whether a TCP connection to host:port opens within timeout seconds, the name lookup
    included: the socket's timeout does not bound the lookup, which a machine without a
    reachable DNS server can spend tens of seconds on, so the probe waits for it that long
    and no longer."""
    outcome: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    thread = threading.Thread(target=probe, name="tinylm-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome == [True]


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """`datasets` and `huggingface_hub` in offline mode for the block: cached datasets load,
    others fail at once. Their switches are read from the environment when they are imported,
    so the modules' own flags are set (and restored)."""
    import datasets
    import huggingface_hub

    with (
        mock.patch.object(datasets.config, "HF_HUB_OFFLINE", True),
        mock.patch.object(huggingface_hub.constants, "HF_HUB_OFFLINE", True),
    ):
        yield
