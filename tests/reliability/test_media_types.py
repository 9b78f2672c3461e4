"""Issue 10.4: valid JSON media types were refused (the header was split on ';' by hand).

Any application/json with a UTF-8 charset (however spelled) or none is accepted, other
parameters are ignored; another charset is 415 ``unsupported_media_type``.
"""

from __future__ import annotations

import json

import pytest

from tests.support.reliability import new_key, new_phone, sms_payload
from tests.support.reliability_clients import Client

pytestmark = pytest.mark.integration

MEDIA_TYPES: list[tuple[str, int]] = [
    ("application/json; charset=utf-8; foo=bar", 201),
    ("application/json; odata.metadata=minimal", 201),
    ("application/json;charset=utf8", 201),
    ('application/json; charset="UTF8"', 201),
    ("application/json ; charset = utf-8", 201),
    ("application/json; charset=latin-1", 415),
    ("application/json; charset=utf-16", 415),
    ("application/json; foo=bar; charset=iso-8859-1", 415),
]


@pytest.mark.parametrize(("content_type", "status"), MEDIA_TYPES, ids=[c for c, _ in MEDIA_TYPES])
async def test_media_type_parameters(client: Client, content_type: str, status: int) -> None:
    raw = json.dumps(sms_payload(new_key("media"), new_phone())).encode()
    reply = await client.post("sms", None, raw=raw, headers={"Content-Type": content_type})
    assert reply.status == status, reply.body
    if status == 415:
        assert reply.code == "unsupported_media_type"
        assert reply.headers["Content-Type"].startswith("application/problem+json")
