"""Transport options for the azure-core clients (Table Storage, ACS SMS, ACS Email).

azure-core gives its aiohttp session ``trust_env=True`` (``use_env_settings``, default True).
aiohttp 3.14 then does, on EVERY request (``ClientSession._request``): the ``.netrc`` look-up in a
worker thread (``run_in_executor(None, _get_netrc_auth, host)``) and the proxy look-up in another
(``asyncio.to_thread(get_env_proxy_for_url, url)``, which reads the proxy variables and the netrc
file again). Two thread hops and two file opens per request, three requests per send: about a
quarter of the app's CPU per send and most of its queueing under load (bench/README.md, profiled
with py-spy).

Those look-ups can only find something when the environment names a proxy (a non-empty
``*_proxy`` variable in any case, as ``urllib.request.getproxies`` reads them) or a netrc file
(``NETRC``, or ``~/.netrc``). Then azure-core's default stays. Otherwise it is turned off, which
changes nothing but the cost. The environment is read once, when the clients are built: app
settings are fixed for a worker's life (changing one restarts the app).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _default_netrc() -> Path | None:
    try:
        home = Path.home()
    except RuntimeError:  # no home: aiohttp finds no netrc either
        return None
    return home / ("_netrc" if sys.platform == "win32" else ".netrc")


def environment_settings_matter(environ: Mapping[str, str] | None = None, netrc: Path | None = None) -> bool:
    """True if a proxy or netrc setting exists that aiohttp's ``trust_env`` would act on."""
    env = os.environ if environ is None else environ
    if any(value and name.lower().endswith("_proxy") for name, value in env.items()):
        return True
    if "NETRC" in env:  # aiohttp honours it even when empty (and then warns)
        return True
    path = _default_netrc() if netrc is None else netrc
    return path is not None and path.exists()


def transport_options(environ: Mapping[str, str] | None = None, netrc: Path | None = None) -> dict[str, Any]:
    """Keyword arguments for an azure-core client: ``use_env_settings=False`` when it changes nothing."""
    return {} if environment_settings_matter(environ, netrc) else {"use_env_settings": False}
