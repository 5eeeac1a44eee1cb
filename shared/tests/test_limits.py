"""Field limits: one place, and control characters refused with the field named."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from bancheng_shared.contracts.limits import CONTENT_MAX, Content, Name


class Body(BaseModel):
    content: Content
    name: Name | None = None


def test_text_with_tabs_and_newlines_is_text() -> None:
    assert Body(content="路灯坏了\n\t已经三天").content == "路灯坏了\n\t已经三天"


@pytest.mark.parametrize("bad", ["\x00", "a\x07b", "\x1b[31m", "x\x7f"])
def test_control_characters_are_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError) as e:
        Body(content="噪音扰民", name=bad)
    err = e.value.errors()[0]
    assert err["loc"] == ("name",) and "control character" in err["msg"]


def test_the_limit_is_the_one_declared() -> None:
    Body(content="字" * CONTENT_MAX)
    with pytest.raises(ValidationError) as e:
        Body(content="字" * (CONTENT_MAX + 1))
    assert e.value.errors()[0]["loc"] == ("content",)
