"""What the console's browser tests share: Debian's chromium (no browser download), the console served by uvicorn
in-process, screenshots for the docs."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "console"


def chromium_or_skip() -> str:
    """Debian's chromium: installed by apt-get when missing and running as root, else a skip with the reason (a
    failure when BANCHENG_REQUIRE_BROWSER is set, as in CI)."""
    if not Path(CHROMIUM).exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "fonts-noto-cjk"]
        if subprocess.run(install, check=False, capture_output=True, timeout=900).returncode != 0:
            subprocess.run(["apt-get", "update"], check=False, capture_output=True, timeout=600)
            subprocess.run(install, check=False, capture_output=True, timeout=900)
    if Path(CHROMIUM).exists():
        return CHROMIUM
    reason = (f"no browser at {CHROMIUM}: install Debian's chromium (`apt-get install chromium`) or point "
              "CONSOLE_CHROMIUM at one; Playwright downloads no browser here")
    if os.environ.get("BANCHENG_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class ConsoleStack:
    """The services (for seeding and checks through their APIs) and the console's address."""

    services: dict[str, Any]  # bancheng_services.testing.RunningService by name
    url: str


async def serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task


async def shot(page: Any, name: str) -> None:
    """A screenshot into docs/console/ when CONSOLE_SCREENSHOTS=1 (so CI does not rewrite the files)."""
    if os.environ.get("CONSOLE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
