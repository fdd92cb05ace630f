"""What the flow benchmarks share: a seeded world served in this process from a folder,
with Prefect kept in that folder, and a count of the requests each system answered."""

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emulators import serve


@contextmanager
def world(data: Path, scale: str, seed: int) -> Iterator[serve.Emulators]:
    """The emulated systems over a fresh world in ``data``, every request kept."""
    os.environ.update(serve.CREDENTIALS)
    os.environ["PREFECT_HOME"] = str(data / "prefect")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.pop("PREFECT_API_URL", None)
    with serve.start(data / "emulators", seed=seed, scale=scale, port_base=0) as running:
        for server in running.servers.values():
            server.requests = type(server.requests)(maxlen=None)
        yield running


def requests_answered(running: serve.Emulators) -> list[str]:
    """Per system, the requests answered since the last call: ConnectWise by HTTP method,
    the others by operation (e-automate POSTs every call); then forgets them."""
    lines = []
    for name, server in running.servers.items():
        methods = Counter(
            r.method if name == "connectwise" else r.path.rstrip("/").rsplit("/")[-1]
            for r in server.requests
        )
        if methods:
            calls = ", ".join(f"{m} {n}" for m, n in sorted(methods.items()))
            lines.append(f"  {name}: {sum(methods.values())} requests ({calls})")
        server.requests.clear()
    return lines
