"""A TCP proxy in front of Azurite that breaks chosen requests at the connection level.

Pooled keep-alive connections do break: a server closes one just as the client reuses it, a load
balancer drops it. The client then sees no answer at all (aiohttp's ServerDisconnectedError,
azure-core's ServiceRequestError), whether or not the request was carried out. The proxy plays
both cases for the next requests that start with a given method:

- ``before``: the connection closes before the request reaches storage (nothing happened);
- ``after``: storage carries the request out, and the connection closes before its answer.

It tells requests apart without parsing HTTP: a client sends a request only once the previous
answer has come back, so the first bytes after an answer (or on a new connection) start one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

Moment = Literal["before", "after"]
_ENDPOINT = re.compile(r"(TableEndpoint=http://127\.0\.0\.1:)(\d+)")


@dataclass
class _Fault:
    method: bytes
    moment: Moment
    remaining: int
    each_once: bool  # break a request line (method and path) at most once
    seen: set[bytes] = field(default_factory=set)

    def takes(self, request_line: bytes) -> bool:
        if self.remaining <= 0 or not request_line.startswith(self.method + b" "):
            return False
        if self.each_once and request_line in self.seen:
            return False
        self.remaining -= 1
        self.seen.add(request_line)
        return True


@dataclass
class _Connection:
    awaits_request: bool = True  # the next bytes from the client start a request
    moment: Moment | None = None  # how the current request is broken, if it is


@dataclass
class ConnectionFaults:
    """The proxy: connections to ``port`` are passed to the upstream port, except the broken ones."""

    upstream: str  # the Azurite connection string
    port: int = 0
    broken: list[tuple[str, Moment]] = field(default_factory=list)  # (request line, moment)
    _faults: list[_Fault] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _clients: set[asyncio.StreamWriter] = field(default_factory=set)

    def break_next(self, method: str, moment: Moment, count: int = 1, *, each_once: bool = False) -> None:
        """Break the next ``count`` requests whose method is ``method`` (``each_once``: only the
        first request to each path, so that each write is broken once and its retry goes through)."""
        self._faults.append(_Fault(method.encode(), moment, count, each_once))

    def disarm(self) -> None:
        """Break nothing more."""
        self._faults.clear()

    @property
    def connection_string(self) -> str:
        """The upstream connection string, pointed at the proxy."""
        return _ENDPOINT.sub(rf"\g<1>{self.port}", self.upstream)

    @property
    def upstream_port(self) -> int:
        """Azurite's Table port."""
        found = _ENDPOINT.search(self.upstream)
        assert found is not None, "an Azurite connection string on 127.0.0.1"
        return int(found.group(2))

    def _take(self, first_bytes: bytes) -> Moment | None:
        request_line = first_bytes.split(b"\r\n", 1)[0]
        for fault in self._faults:
            if fault.takes(request_line):
                self.broken.append((request_line.decode(errors="replace"), fault.moment))
                return fault.moment
        return None

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        self._clients.add(client_out)
        up_in, up_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        connection = _Connection()

        async def to_upstream() -> None:
            while chunk := await client_in.read(65536):
                if connection.awaits_request:
                    connection.awaits_request = False
                    connection.moment = self._take(chunk)
                    if connection.moment == "before":
                        return
                up_out.write(chunk)
                await up_out.drain()

        async def to_client() -> None:
            while chunk := await up_in.read(65536):
                if connection.moment == "after":
                    return  # storage has answered: the answer is what gets lost
                connection.awaits_request = True
                client_out.write(chunk)
                await client_out.drain()

        tasks = [asyncio.ensure_future(to_upstream()), asyncio.ensure_future(to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self._clients.discard(client_out)
            for writer in (client_out, up_out):
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close the connections."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def connection_faults(upstream: str) -> AsyncIterator[ConnectionFaults]:
    """A running proxy in front of the Azurite of connection string ``upstream``."""
    proxy = ConnectionFaults(upstream)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
