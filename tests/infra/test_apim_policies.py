"""APIM policies as the gateway will run them: rendered the way apim-api.bicep renders them
(its replace() chain, with a parameter file's values), then checked against the requests they
must refuse or accept: a v2 token, a body over 1 MiB, the caller's bearer token."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import APIM_POLICY_DIR, ENV_DIR, REPO_ROOT, function_calls, load_parameter_file, module
from tests.infra.policy_xml import child, text

TENANT = str(uuid.uuid4())
CLIENT_ID = str(uuid.uuid4())
LOGIN = "https://login.microsoftonline.com/"


def _value(expr: Any, template: dict[str, Any], params: dict[str, Any]) -> str:
    """The few Bicep expressions the policy replacements use: params, variables, string(), ?: on ==."""
    if isinstance(expr, bool | int):
        return str(expr)
    if isinstance(expr, str):
        if expr == "loginEndpoint":  # environment().authentication.loginEndpoint in Azure's public cloud
            return LOGIN
        if expr in params:
            return str(params[expr])
        if expr in template.get("variables", {}):
            return _value(template["variables"][expr]["value"], template, params)
        text = expr
        for name, value in {"loginEndpoint": LOGIN, "jwtTenantId": TENANT, **params}.items():
            text = text.replace("${" + name + "}", str(value))
        return text
    if "function" in expr and expr["function"]["type"] == "string":
        return _value(expr["function"]["parameters"]["value_to_convert"], template, params)
    if "function" in expr and expr["function"]["type"] == "replace":
        p = expr["function"]["parameters"]
        return _value(p["original_string"], template, params).replace(
            p["old_string"], _value(p["new_string"], template, params)
        )
    if "function" in expr and expr["function"]["type"] == "load_text_content":
        file_path: str = expr["function"]["parameters"]["file_path"]
        return (REPO_ROOT / "infra" / "modules" / file_path).resolve().read_text()
    operator = expr["operator"]
    if operator["type"] == "equals" and operator["operands"]["operand_2"]["operator"]["type"] == "conditional":
        # pycep 0.5.1 reads `a == 'v2' ? x : y` as `a == ('v2' ? x : y)`; Bicep means `(a == 'v2') ? x : y`.
        inner = operator["operands"]["operand_2"]["operator"]["operands"]
        chosen = _value(operator["operands"]["operand_1"], template, params) == _value(
            inner["condition"], template, params
        )
        return _value(inner["true_value" if chosen else "false_value"], template, params)
    if operator["type"] == "conditional":
        cond = operator["operands"]["condition"]["operator"]["operands"]
        chosen = _value(cond["operand_1"], template, params) == _value(cond["operand_2"], template, params)
        return _value(operator["operands"]["true_value" if chosen else "false_value"], template, params)
    raise AssertionError(f"expression not understood by the test: {expr}")


def render(variable: str, env: str) -> ET.Element:
    """A policy exactly as apim-api.bicep hands it to APIM for one environment's parameters."""
    template = module("apim-api")
    params = {name: p.get("default") for name, p in template["parameters"].items()}
    params.update({k: v for k, v in load_parameter_file(ENV_DIR / f"{env}.parameters.json").items() if k in params})
    params.update({"apiClientId": CLIENT_ID, "jwtTenantId": TENANT, "functionKey": "k" * 40})
    return ET.fromstring(_value(variable, template, params))


def _token_accepted(policy: ET.Element, claims: dict[str, Any]) -> bool:
    """validate-jwt's audience / issuer / required-claim rules for a token's claims."""
    jwt = policy.find("inbound/validate-jwt")
    assert jwt is not None
    audiences = {a.text for a in jwt.findall("audiences/audience")}
    issuers = {i.text for i in jwt.findall("issuers/issuer")}
    claim = jwt.find("required-claims/claim")
    assert claim is not None
    held = claims.get(claim.get("name", ""), [])
    held = held.split(claim.get("separator", " ")) if isinstance(held, str) else held
    return claims["aud"] in audiences and claims["iss"] in issuers and {v.text for v in claim} <= set(held)


@pytest.mark.parametrize("env", ["test", "prod"])
def test_a_v2_token_is_accepted(env: str) -> None:
    # Issue 13 point 2: in v2 tokens aud is the API's client id, never the api:// URI.
    policy = render("callerPolicy", env)
    v2 = {
        "aud": CLIENT_ID,
        "iss": f"{LOGIN}{TENANT}/v2.0",
        "roles": ["Notifications.Send"],
        "azp": "caller",
        "ver": "2.0",
    }
    assert _token_accepted(policy, v2)
    assert (
        child(policy, "inbound/validate-jwt/openid-config").get("url")
        == f"{LOGIN}{TENANT}/v2.0/.well-known/openid-configuration"
    )
    assert not _token_accepted(policy, {**v2, "aud": str(uuid.uuid4())}), "another API's token"
    assert not _token_accepted(policy, {**v2, "roles": ["Other"]}), "a token without the app role"
    assert not _token_accepted(policy, {**v2, "iss": f"https://sts.windows.net/{TENANT}/"}), "a v1 issuer"


def test_a_v1_token_is_accepted_in_dev() -> None:
    policy = render("callerPolicy", "dev")
    uri = load_parameter_file(ENV_DIR / "dev.parameters.json")["jwtAudience"]
    v1 = {"aud": uri, "iss": f"https://sts.windows.net/{TENANT}/", "scp": "user_impersonation", "appid": "cli"}
    assert _token_accepted(policy, v1)
    assert _token_accepted(policy, {**v1, "aud": CLIENT_ID})


def _inbound_tags(policy: ET.Element) -> list[tuple[str, str | None, str | None]]:
    inbound = policy.find("inbound")
    assert inbound is not None
    return [(e.tag, e.get("name"), e.get("exists-action")) for e in inbound]


@pytest.mark.parametrize("variable", ["callerPolicy", "anonymousPolicy"])
def test_the_callers_authorization_header_is_removed(variable: str) -> None:
    # Issue 10 point 12: the app does not need the caller's token, so it never receives it.
    tags = _inbound_tags(render(variable, "prod"))
    delete = ("set-header", "Authorization", "delete")
    assert delete in tags
    if variable == "callerPolicy":
        assert tags.index(("validate-jwt", None, None)) < tags.index(delete), "delete only after validate-jwt read it"


def _app_problem_body() -> str | None:
    """The app's own 413 body, rendered by the app's code in the app's venv (None if there is none)."""
    python = Path(os.environ.get("INSTANT_APP_PYTHON", REPO_ROOT / ".venv" / "bin" / "python"))
    if not python.is_file():
        return None
    code = (
        "from instant.domain.errors import ProblemCode, ProblemError\n"
        "from instant.entrypoints.answers import problem_answer\n"
        "from instant.entrypoints.http import MAX_BODY_BYTES\n"
        "import json\n"
        "a = problem_answer(ProblemError(ProblemCode.PAYLOAD_TOO_LARGE, 'The body must be at most 1 MiB.'))\n"
        "print(json.dumps({'status': a.status, 'type': a.content_type, 'body': a.body, 'max': MAX_BODY_BYTES}))\n"
    )
    out = subprocess.run(
        [str(python), "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout


def test_bodies_over_the_limit_get_the_apps_413() -> None:
    # Issue 10 point 11: refused by APIM before the Functions host buffers them.
    policy = render("apiPolicy", "prod")
    when = policy.find("inbound/choose/when")
    assert when is not None
    condition = when.get("condition", "")
    assert "Content-Length" in condition and "As<byte[]>(preserveContent: true)" in condition
    assert condition.count("> 1048576") == 2, "both the declared and the measured length are compared with 1 MiB"
    answer = when.find("return-response")
    assert answer is not None
    assert child(answer, "set-status").get("code") == "413"
    assert child(answer, "set-header[@name='Content-Type']/value").text == "application/problem+json"
    body = text(child(answer, "set-body"))
    problem = json.loads(body)
    assert problem["code"] == "payload_too_large" and problem["status"] == 413
    tags = _inbound_tags(policy)
    assert tags.index(("choose", None, None)) < tags.index(("set-backend-service", None, None))
    app = _app_problem_body()
    if app is None:
        pytest.skip("no app venv (.venv or INSTANT_APP_PYTHON) to render the app's own answer")
    rendered = json.loads(app)
    assert (rendered["status"], rendered["type"], rendered["body"], rendered["max"]) == (
        413, "application/problem+json", body, 1048576,
    ), "APIM's 413 must be the app's bytes"  # fmt: skip


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_the_per_recipient_limit_renders_with_the_environments_values(env: str) -> None:
    # Issue 12 point 6: a rough first line per phone number / address, after the per-caller limit.
    params = load_parameter_file(ENV_DIR / f"{env}.parameters.json")
    inbound = render("callerPolicy", env).find("inbound")
    assert inbound is not None
    limits = [e for e in inbound if e.tag == "rate-limit-by-key"]
    caller, recipient = limits
    assert "caller-id" in caller.get("counter-key", "")
    assert "recipient" in recipient.get("counter-key", "")
    assert (recipient.get("calls"), recipient.get("renewal-period")) == (
        str(params["recipientRateLimitCalls"]),
        str(params["recipientRateLimitPeriodSeconds"]),
    )


def test_the_policies_render_completely() -> None:
    template = module("apim-api")
    assert function_calls(template, "load_text_content")
    for variable in ("apiPolicy", "callerPolicy", "anonymousPolicy"):
        text = ET.tostring(render(variable, "prod"), encoding="unicode")
        assert "__" not in text.replace("__ ", ""), f"{variable} keeps a placeholder"
    assert (APIM_POLICY_DIR / "api-policy.xml").is_file()
