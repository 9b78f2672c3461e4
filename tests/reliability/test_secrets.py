"""8. Secrets: after everything else (the conftest puts this module last), no message body, no
passcode and no ACS access key is in any log the service wrote or in any Table Storage entity.

Every body of the session came from ``passcode_body()`` (a fresh 8-digit passcode and the
session's MARKER) or from the generator (test_fuzz.py registers its longer strings), and the
bodies that failed (rejected, unavailable, crashed, storage down) are among them. The scan reads
the local host's log of every app process the suite started, and every entity of every table of
every Azurite the service wrote to.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from tests.support.reliability import MARKER, WATCHED, figure, new_email, new_key, new_phone, payload_for
from tests.support.reliability_clients import Client, Tables

pytestmark = pytest.mark.integration


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# A passcode is found where it stands as a token of its own. Inside a longer run of letters and
# digits (a hex digest, a trace id, a shipment id) some 8 digits match one of the session's ~550
# passcodes by chance in about one run in ten: a failed run that found no leak.
_EIGHT_DIGIT_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9]{8}(?![0-9A-Za-z])")


def leaked_passcodes(text: str, passcodes: set[str]) -> set[str]:
    """The ``passcodes`` that stand in ``text`` as tokens of their own."""
    return set(_EIGHT_DIGIT_TOKEN.findall(text)) & passcodes


def leaks(text: str) -> list[str]:
    found = [f"body {b[:40]!r}" for b in WATCHED.bodies if b in text]
    found += [f"passcode {p}" for p in sorted(leaked_passcodes(text, WATCHED.passcodes))]
    found += ["an access or digest key" for k in WATCHED.access_keys if k in text]
    # a plain SHA-256 of a passcode body can be reversed by trying every code: the service must
    # store only keyed digests (INSTANT_DIGEST_KEY is set for every app of this suite)
    found += [f"plain SHA-256 of body {b[:40]!r}" for b in WATCHED.bodies if _sha256(b) in text]
    if MARKER in text:
        found.append("the body marker")
    return found


def test_a_passcode_is_found_on_its_own_and_not_inside_a_digest() -> None:
    code = "19344209"
    for leaked in ("Your code is 19344209.", '{"Value": "19344209"}', "code=19344209&x", "19344209"):
        assert leaked_passcodes(leaked, {code}) == {code}, leaked
    for chance in ("9f3a19344209c1", "185e4950-19344209b", "trace 0019344209"):
        assert leaked_passcodes(chance, {code}) == set(), chance


async def test_no_secret_in_logs_or_tables(client: Client) -> None:
    # given: at least one body of each outcome in this very test, in case it runs alone
    for channel, recipient in (("sms", new_phone()), ("sms", "+4790000001"), ("email", new_email())):
        assert (await client.post(channel, payload_for(channel, new_key("secret"), recipient))).status in (201, 422)
    assert WATCHED.passcodes and WATCHED.access_keys and WATCHED.log_files and WATCHED.azurites
    problems: list[str] = []
    # the logs of every app process
    for path in sorted(WATCHED.log_files):
        text = path.read_text(errors="replace")
        assert text, f"{path} is empty: the scan would prove nothing"
        problems += [f"{path.name}: {leak}" for leak in leaks(text)]
    # every entity of every table of every Azurite the service wrote to
    entities = 0
    for name, connection_string in WATCHED.azurites.items():
        for table, rows in (await Tables(connection_string).every_entity()).items():
            for row in rows:
                entities += 1
                text = json.dumps(row, default=_plain, ensure_ascii=False)
                problems += [
                    f"{name}/{table}/{row.get('PartitionKey')}/{row.get('RowKey')}: {leak}" for leak in leaks(text)
                ]
    assert entities >= 6, "the scan read too little to prove anything"
    assert not problems, "\n".join(problems[:50])
    figure(
        "secrets scan",
        f"{len(WATCHED.bodies)} bodies, {len(WATCHED.passcodes)} passcodes, the bodies' plain SHA-256, "
        "the ACS key and the digest key looked for in "
        f"{len(WATCHED.log_files)} app logs and {entities} entities of {len(WATCHED.azurites)} Azurites: none found",
    )


def _plain(value: Any) -> str:
    return str(value)
