"""7. Isolation: no caller can see or disturb another's orders.

Promise: caller B cannot read A's shipment (404, the same answer as for an id that does not
exist), the same idempotencyId under B is a separate order (B can neither replay nor block A's
key, and A's key cannot block B's), and every audit entry names the caller that really sent it.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.reliability import FAULTS, new_email, new_key, new_phone, payload_for, shipment
from tests.support.reliability_clients import Client, Tables

pytestmark = pytest.mark.integration

ALICE = "caller-alice"
BOB = "caller-bob"


@pytest.mark.parametrize("channel", ["sms", "email"])
async def test_callers_cannot_see_or_disturb_each_other(client: Client, tables: Tables, channel: str) -> None:
    key = new_key("iso")
    recipient = new_phone() if channel == "sms" else new_email()
    payload = payload_for(channel, key, recipient)
    # given: Alice's order
    alice = await client.post(channel, payload, caller=ALICE)
    assert alice.status == 201, alice.body
    path = f"/future/shipment/{alice.json()['notification']['shipmentId']}"
    # Bob cannot read it, and cannot tell it from an id that does not exist
    theirs = await client.get(path, caller=BOB)
    nobody = await client.get(f"/future/shipment/{uuid.uuid4()}", caller=BOB)
    assert (theirs.status, theirs.code) == (404, "not_found")
    assert theirs.body == nobody.body
    # nor with the id spelled differently (upper case, braces)
    shipment_id = alice.json()["notification"]["shipmentId"]
    for spelling in (shipment_id.upper(), "{" + shipment_id + "}", shipment_id.replace("-", "")):
        assert (await client.get(f"/future/shipment/{spelling}", caller=BOB)).status == 404
        assert (await client.get(f"/future/shipment/{spelling}", caller=ALICE)).status == 200
    # caller ids are compared exactly: another spelling is another caller
    assert (await client.get(path, caller=ALICE.upper())).status == 404
    # the same key and payload under Bob is Bob's own new order, not a replay of Alice's
    bob = await client.post(channel, payload, caller=BOB)
    assert bob.status == 201, bob.body
    assert bob.json()["notification"]["shipmentId"] != shipment_id
    assert bob.json()["notificationOrderId"] != alice.json()["notificationOrderId"]
    # Alice's replay is still hers
    assert (await client.post(channel, payload, caller=ALICE)).status == 200
    # a key Bob used first is free for Alice with any payload: no 422, no replay of Bob's
    other_key = new_key("iso-other")
    first = await client.post(channel, payload_for(channel, other_key, recipient), caller=BOB)
    second = await client.post(channel, payload_for(channel, other_key, recipient), caller=ALICE)
    assert (first.status, second.status) == (201, 201)
    # each got exactly their own message, under their own provider token
    assert len(await client.delivered(channel, await tables.provider_token(ALICE, channel, key))) == 1
    assert len(await client.delivered(channel, await tables.provider_token(BOB, channel, key))) == 1
    # the audit entries name the caller who sent each request
    alice_audit = await tables.audit(shipment(ALICE, channel, key))
    bob_audit = await tables.audit(shipment(BOB, channel, key))
    assert [(a.caller, a.http_status) for a in alice_audit] == [(ALICE, 201), (ALICE, 200)]
    assert [(a.caller, a.http_status) for a in bob_audit] == [(BOB, 201)]
    # and Bob's reads of Alice's shipment left no trace in Alice's order
    record = await tables.order(shipment(ALICE, channel, key))
    assert record is not None and record.caller == ALICE


async def test_another_caller_cannot_block_a_key_in_flight(client: Client, tables: Tables) -> None:
    # given: Alice's email is slow to be accepted (2 s), so her key is in flight
    key = new_key("iso-flight")
    payload = payload_for("email", key, f"slow@{FAULTS}")
    alice = asyncio.ensure_future(client.post("email", payload, caller=ALICE))
    await client.wait_for_provider_request("email", await tables.provider_token(ALICE, "email", key))
    # when Bob sends the same key meanwhile, and Alice retries
    bob, alice_again = await asyncio.gather(
        client.post("email", payload, caller=BOB), client.post("email", payload, caller=ALICE)
    )
    # then Bob's order is his own (no 409 from Alice's lease), while Alice is told to wait for hers
    assert bob.status == 201, bob.body
    assert alice_again.status == 409
    assert (await alice).status == 201
    assert len(await client.delivered("email", await tables.provider_token(ALICE, "email", key))) == 1
    assert len(await client.delivered("email", await tables.provider_token(BOB, "email", key))) == 1


async def test_a_caller_id_cannot_be_smuggled_into_another(client: Client) -> None:
    # Repeated headers are joined with ", " by the host: never one of the two callers.
    key = new_key("iso-dup")
    reply = await client.post(
        "sms", payload_for("sms", key, new_phone()), caller=None, headers={"X-Caller-Id": f"{ALICE}, {BOB}"}
    )
    assert (reply.status, reply.code) == (403, "caller_missing")
