"""Fill an azd environment from a per-environment parameter file (infra/env/<env>.parameters.json).

infra/main.parameters.json (what azd reads) maps each parameter to an azd environment variable
with the dev value as default, e.g. "${INSTANT_APIM_SKU=Developer}". This prints (or, with
--apply, runs) the `azd env set` commands that give the selected azd environment the values of
one parameter file, so the per-environment files stay the one source of those values:

    azd env new instant-prod && python3 scripts/azd_env.py prod --apply
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

INFRA = Path(__file__).resolve().parents[1] / "infra"
_REFERENCE = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)(?:=(.*))?\}$")


def variables(azd_parameters: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Parameter name -> (azd variable, its default) for every "${VAR=default}" value."""
    found: dict[str, tuple[str, str | None]] = {}
    for name, entry in azd_parameters["parameters"].items():
        value = entry.get("value")
        match = _REFERENCE.match(value) if isinstance(value, str) else None
        if match:
            found[name] = (match.group(1), match.group(2))
    return found


def as_env_value(value: Any) -> str:
    """A parameter value the way azd substitutes it (azd converts it back to the parameter's type)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def settings(environment: str) -> dict[str, str]:
    """azd variable -> value for one environment's parameter file."""
    azd_parameters = json.loads((INFRA / "main.parameters.json").read_text())
    values = json.loads((INFRA / "env" / f"{environment}.parameters.json").read_text())["parameters"]
    mapping = variables(azd_parameters)
    return {mapping[name][0]: as_env_value(entry["value"]) for name, entry in values.items() if name in mapping}


def main() -> None:
    """Print or apply the `azd env set` commands for one environment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("environment", choices=["dev", "test", "prod"])
    parser.add_argument("--apply", action="store_true", help="run the commands (azd must be on PATH)")
    args = parser.parse_args()
    for variable, value in sorted(settings(args.environment).items()):
        command = ["azd", "env", "set", variable, value]
        if args.apply:
            subprocess.run(command, check=True)
        else:
            print(shlex.join(command))


if __name__ == "__main__":
    main()
