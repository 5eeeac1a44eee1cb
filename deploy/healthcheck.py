"""Container health check: GET /healthz on this service's own port; exit 0 when it answers ok.

Used by the image's HEALTHCHECK. Standard library only: it runs inside the service image.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

DEFAULT_PORTS = {"intake": 8001, "triage": 8002, "sla": 8003, "oversight": 8004}


def health_url(env: dict[str, str]) -> str:
    """The /healthz address of the service named by BANCHENG_SERVICE (port from <SERVICE>_PORT)."""
    service = env.get("BANCHENG_SERVICE", "")
    if service not in DEFAULT_PORTS:
        raise SystemExit(f"BANCHENG_SERVICE must be one of {sorted(DEFAULT_PORTS)}, got {service!r}")
    port = int(env.get(f"{service.upper()}_PORT") or DEFAULT_PORTS[service])
    return f"http://127.0.0.1:{port}/healthz"


def check(url: str, timeout_s: float = 4.0) -> bool:
    """True when the service answers 200 with status ok."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return resp.status == 200 and json.loads(resp.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


if __name__ == "__main__":
    sys.exit(0 if check(health_url(dict(os.environ))) else 1)
