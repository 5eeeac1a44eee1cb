"""Other government platforms (交办): a platform's name, and where its secret comes from."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bancheng_shared.errors import Problem
from intake_svc.domain.problems import field_problem

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


def check_name(name: str) -> None:
    """Lower-case letters, digits, '-' or '_', 2 to 64 characters (422 naming `platform`)."""
    if not NAME.match(name):
        raise field_problem("platform", "lower-case letters, digits, '-' or '_' (2-64)")


def secret_of(name: str, registered: str | None, configured: Mapping[str, str]) -> str:
    """The platform's secret: as registered (PUT /v1/platforms/{p}), else from settings; unknown → 404."""
    secret = registered if registered is not None else configured.get(name)
    if secret is None:
        raise Problem(404, f"unknown platform {name!r}", type_="unknown-platform")
    return secret
