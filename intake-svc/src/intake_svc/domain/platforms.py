"""Other government platforms (交办): a platform's name, and where its secret comes from."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bancheng_shared.errors import Problem
from intake_svc.domain.problems import field_problem

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}\Z")


def check_name(name: str) -> None:
    """Lower-case letters, digits, '-' or '_', 2 to 64 characters (422 naming `platform`)."""
    if not NAME.match(name):
        raise field_problem("platform", "lower-case letters, digits, '-' or '_' (2-64)")


def unknown(name: str) -> Problem:
    """404 for a platform that is not registered."""
    return Problem(404, f"unknown platform {name[:64]!r}", type_="unknown-platform")


def check_known_name(name: str) -> None:
    """A name no platform can have is unknown (404) without a look in the store."""
    if not NAME.match(name):
        raise unknown(name)


def secret_of(name: str, registered: str | None, configured: Mapping[str, str]) -> str:
    """The platform's secret: as registered (PUT /v1/platforms/{p}), else from settings; unknown → 404."""
    secret = registered if registered is not None else configured.get(name)
    if secret is None:
        raise unknown(name)
    return secret
