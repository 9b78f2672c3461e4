"""10. A compressed request body reaches the app as sent, as under the Functions host.

Kestrel does not decompress request bodies and the Functions host adds no middleware that
does; the Python worker gets the raw bytes (RawHttpBodyBytes). The service does not accept a
Content-Encoding, so a gzip body is not JSON to it: 400 ``malformed_json``, nothing sent.
"""

from __future__ import annotations

import gzip
import json

import pytest

from tests.support.reliability import new_key, new_phone, sms_payload
from tests.support.reliability_clients import Client

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("encoding", ["gzip", "GZIP"])
async def test_a_gzip_body_is_not_decompressed_by_the_host(client: Client, encoding: str) -> None:
    phone = new_phone()
    raw = gzip.compress(json.dumps(sms_payload(new_key("gzip"), phone)).encode())
    reply = await client.post("sms", None, raw=raw, headers={"Content-Encoding": encoding})
    assert (reply.status, reply.code) == (400, "malformed_json")
    assert (await client.inbox(phone))["sms"] == []
