"""API Management: the API exposes exactly EXPECTED_ROUTES, and the policies do what the app trusts.

The app trusts X-Caller-Id, so APIM must (1) authenticate the caller with validate-jwt, (2) delete
any client-sent X-Caller-Id BEFORE setting it from the configured claim, (3) rate-limit per caller.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import (
    APIM_POLICY_DIR,
    INFRA_DIR,
    bicep_files,
    body,
    code_without_comments,
    function_calls,
    module,
    parse,
    resolve,
    single_resource,
)
from tests.infra.policy_xml import attribute, child, text
from tests.infra.routes import EXPECTED_ROUTES, ROUTE_PREFIX

API_POLICY = APIM_POLICY_DIR / "api-policy.xml"
CALLER_POLICY = APIM_POLICY_DIR / "operation-caller-policy.xml"
ANONYMOUS_POLICY = APIM_POLICY_DIR / "operation-anonymous-policy.xml"
PLACEHOLDER = re.compile(r"__[A-Z][A-Z0-9_]*__")


@pytest.fixture(scope="module")
def api_template() -> dict[str, Any]:
    return module("apim-api")


@pytest.fixture(scope="module")
def operations(api_template: dict[str, Any]) -> list[dict[str, Any]]:
    resource = single_resource(api_template, "Microsoft.ApiManagement/service/apis/operations")
    loop = resource["config"]["loop_type"]["detail"]
    assert loop["array_name"] == "apiOperations", "operations must be generated from the apiOperations list"
    ops = list(resolve("apiOperations", api_template))
    assert all(isinstance(op, dict) for op in ops)
    return ops


def _inbound(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "policies"
    assert [child.tag for child in root] == ["inbound", "backend", "outbound", "on-error"], path.name
    inbound = root.find("inbound")
    assert inbound is not None
    return list(inbound)


def _index(elements: list[ET.Element], tag: str, **attrs: str) -> int:
    for i, el in enumerate(elements):
        if el.tag == tag and all(el.get(k) == v for k, v in attrs.items()):
            return i
    raise AssertionError(f"no <{tag} {attrs}> in inbound")


# ---- operations ----------------------------------------------------------------------------


def test_api_path_is_the_route_prefix(api_template: dict[str, Any]) -> None:
    api = body(single_resource(api_template, "Microsoft.ApiManagement/service/apis"))
    assert next(resolve(api["properties"]["path"], api_template)) == ROUTE_PREFIX
    assert api["properties"]["protocols"] == ["https"]


def test_operations_are_exactly_the_expected_routes(operations: list[dict[str, Any]]) -> None:
    exposed = sorted((op["method"], f"/{ROUTE_PREFIX}{op['urlTemplate']}") for op in operations)
    expected = sorted((r.method, r.path) for r in EXPECTED_ROUTES)
    assert exposed == expected


def test_anonymous_operations_match_route_auth(operations: list[dict[str, Any]]) -> None:
    by_path = {(op["method"], f"/{ROUTE_PREFIX}{op['urlTemplate']}"): op for op in operations}
    for route in EXPECTED_ROUTES:
        op = by_path[(route.method, route.path)]
        assert op["anonymous"] is (route.auth == "anonymous"), route


def test_path_parameters_are_declared(operations: list[dict[str, Any]]) -> None:
    for op in operations:
        in_template = set(re.findall(r"{(\w+)}", op["urlTemplate"]))
        declared = {p["name"] for p in op["templateParameters"]}
        assert in_template == declared, op["name"]
        assert all(p["required"] is True for p in op["templateParameters"])


def test_operation_policy_follows_the_anonymous_flag(api_template: dict[str, Any]) -> None:
    resource = single_resource(api_template, "Microsoft.ApiManagement/service/apis/operations/policies")
    assert resource["config"]["loop_type"]["detail"]["array_name"] == "apiOperations"
    value = body(resource)["properties"]["value"]["operator"]
    assert value["type"] == "conditional"
    assert value["operands"]["condition"]["operator"]["operands"] == {"operand_1": "op", "operand_2": "anonymous"}
    assert value["operands"]["true_value"] == "anonymousPolicy"
    assert value["operands"]["false_value"] == "callerPolicy"


def test_policies_are_loaded_from_the_xml_files(api_template: dict[str, Any]) -> None:
    loaded = {
        (INFRA_DIR / "modules" / c["function"]["parameters"]["file_path"]).resolve()
        for c in function_calls(api_template, "load_text_content")
    }
    assert loaded == {API_POLICY.resolve(), CALLER_POLICY.resolve(), ANONYMOUS_POLICY.resolve()}


# ---- policy documents ------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(APIM_POLICY_DIR.glob("*.xml")), ids=lambda p: p.name)
def test_policy_is_well_formed_and_keeps_base(path: Path) -> None:
    root = ET.parse(path).getroot()
    for section in ("inbound", "backend", "outbound", "on-error"):
        element = root.find(section)
        assert element is not None and element.find("base") is not None, f"{path.name}: <{section}> lost <base />"


def test_api_policy_removes_client_caller_id_for_every_operation() -> None:
    inbound = _inbound(API_POLICY)
    delete = _index(inbound, "set-header", name="X-Caller-Id", **{"exists-action": "delete"})
    assert _index(inbound, "base") < delete
    assert not [
        e for e in inbound if e.tag == "set-header" and e.get("name") == "X-Caller-Id" and e is not inbound[delete]
    ]
    assert inbound[_index(inbound, "set-backend-service")].get("backend-id") == "__BACKEND_ID__"


def test_caller_policy_validates_jwt() -> None:
    inbound = _inbound(CALLER_POLICY)
    jwt = inbound[_index(inbound, "validate-jwt")]
    assert jwt.get("header-name") == "Authorization"
    assert jwt.get("failed-validation-httpcode") == "401"
    assert jwt.get("require-signed-tokens") == "true"
    assert jwt.get("require-expiration-time") == "true"
    assert child(jwt, "openid-config").get("url") == "__OPENID_CONFIG_URL__"
    # v2 tokens carry the client id as aud; v1 tokens requested for api://... the URI: accept both.
    assert [a.text for a in child(jwt, "audiences")] == ["__API_CLIENT_ID__", "__JWT_AUDIENCE__"]
    assert [i.text for i in child(jwt, "issuers")] == ["__JWT_ISSUER__"]
    claim = child(jwt, "required-claims/claim")
    assert claim.get("name") == "__REQUIRED_CLAIM__"
    assert [v.text for v in claim] == ["__REQUIRED_CLAIM_VALUE__"]
    assert jwt.get("output-token-variable-name") == "caller-jwt"


def test_caller_policy_deletes_client_caller_id_before_setting_it_from_the_claim() -> None:
    inbound = _inbound(CALLER_POLICY)
    jwt = _index(inbound, "validate-jwt")
    delete = _index(inbound, "set-header", name="X-Caller-Id", **{"exists-action": "delete"})
    set_ = _index(inbound, "set-header", name="X-Caller-Id", **{"exists-action": "override"})
    assert jwt < delete < set_, "order must be: validate-jwt, delete X-Caller-Id, set X-Caller-Id"
    variable = inbound[_index(inbound, "set-variable", name="caller-id")]
    assert 'context.Variables["caller-jwt"]' in attribute(variable, "value")
    assert '"__CALLER_ID_CLAIM__"' in attribute(variable, "value")
    assert 'context.Variables["caller-id"]' in text(child(inbound[set_], "value"))
    # No header of that name is set anywhere else, and never from the request.
    assert "context.Request.Headers" not in ET.tostring(ET.parse(CALLER_POLICY).getroot(), encoding="unicode")


def test_caller_without_claim_is_refused() -> None:
    inbound = _inbound(CALLER_POLICY)
    choose = inbound[_index(inbound, "choose")]
    assert (
        _index(inbound, "set-variable", name="caller-id")
        < _index(inbound, "choose")
        < _index(inbound, "set-header", name="X-Caller-Id", **{"exists-action": "override"})
    )
    assert child(choose, "when/return-response/set-status").get("code") == "403"


def test_caller_policy_rate_limits_per_caller() -> None:
    inbound = _inbound(CALLER_POLICY)
    limit = inbound[_index(inbound, "rate-limit-by-key")]
    assert 'context.Variables["caller-id"]' in attribute(limit, "counter-key")
    assert limit.get("calls") == "__RATE_LIMIT_CALLS__"
    assert limit.get("renewal-period") == "__RATE_LIMIT_PERIOD_SECONDS__"
    assert _index(inbound, "validate-jwt") < _index(inbound, "rate-limit-by-key")


def test_caller_policy_rate_limits_per_recipient_after_the_caller() -> None:
    inbound = _inbound(CALLER_POLICY)
    limits = [e for e in inbound if e.tag == "rate-limit-by-key"]
    assert len(limits) == 2
    recipient = limits[1]
    assert recipient.get("counter-key") == '@("recipient:" + (string)context.Variables["recipient"])'
    assert (recipient.get("calls"), recipient.get("renewal-period")) == (
        "__PER_RECIPIENT_CALLS__",
        "__PER_RECIPIENT_PERIOD_SECONDS__",
    )
    # Only a request that names a recipient is counted (GET shipment has no body).
    assert "Length > 0" in recipient.get("increment-condition", "")
    (variable,) = [e for e in inbound if e.tag == "set-variable" and e.get("name") == "recipient"]
    expression = variable.get("value", "")
    assert _index(inbound, "set-variable", name="recipient") < inbound.index(recipient)
    # Read without consuming the body (the backend still needs it), names matched as the app
    # matches them (any case), and a body that is not JSON never fails the request.
    for part in ("preserveContent: true", '"phoneNumber"', '"emailAddress"', "OrdinalIgnoreCase", "catch"):
        assert part in expression, part


def test_anonymous_policy_has_no_jwt_and_a_per_ip_limit() -> None:
    inbound = _inbound(ANONYMOUS_POLICY)
    assert not [e for e in inbound if e.tag == "validate-jwt"]
    limit = inbound[_index(inbound, "rate-limit-by-key")]
    assert "context.Request.IpAddress" in attribute(limit, "counter-key")


def _placeholders(path: Path) -> set[str]:
    # Parsed, so placeholders mentioned in XML comments do not count.
    return set(PLACEHOLDER.findall(ET.tostring(ET.parse(path).getroot(), encoding="unicode")))


def _replaced_placeholders(template: dict[str, Any]) -> set[str]:
    return {c["function"]["parameters"]["old_string"] for c in function_calls(template, "replace")}


@pytest.mark.parametrize("path", [API_POLICY, CALLER_POLICY, ANONYMOUS_POLICY], ids=lambda p: p.name)
def test_every_placeholder_is_replaced_at_deployment(path: Path, api_template: dict[str, Any]) -> None:
    in_xml = _placeholders(path)
    assert in_xml, path.name
    assert in_xml <= _replaced_placeholders(api_template), (
        f"{path.name}: never replaced: {in_xml - _replaced_placeholders(api_template)}"
    )


def test_placeholders_do_not_contain_each_other(api_template: dict[str, Any]) -> None:
    # replace() runs one placeholder after another: none may be a substring of another.
    names = _replaced_placeholders(api_template)
    assert not [(a, b) for a in names for b in names if a != b and a in b]


def test_no_replacement_targets_a_missing_placeholder(api_template: dict[str, Any]) -> None:
    in_xml = set().union(*(_placeholders(p) for p in (API_POLICY, CALLER_POLICY, ANONYMOUS_POLICY)))
    assert _replaced_placeholders(api_template) <= in_xml


# ---- function key / backend / tier -----------------------------------------------------------


def test_function_key_is_a_host_key_resource_and_a_secret_named_value(api_template: dict[str, Any]) -> None:
    # Issue 13 point 4: no listKeys() on a Flex app that may never have run. The key is created as
    # a resource with the deployer's value, and APIM's secret named value holds the same value.
    key = body(single_resource(api_template, "Microsoft.Web/sites/host/functionKeys"))
    assert key["parent"] == "functionHost"
    assert key["properties"] == {"name": "functionKeyName", "value": "functionKey"}
    assert key["name"] == "functionKeyName" and api_template["variables"]["functionKeyName"]["value"] == "apim"
    host = api_template["resources"]["functionHost"]
    assert host["existing"] is True and host["type"] == "Microsoft.Web/sites/host"
    assert host["config"]["name"] == "default"
    named = body(single_resource(api_template, "Microsoft.ApiManagement/service/namedValues"))
    assert named["properties"]["secret"] is True
    assert named["properties"]["value"] == "functionKey"
    assert named["dependsOn"] == ["apimHostKey"], "APIM may send the key only once the host has it"
    param = api_template["parameters"]["functionKey"]
    assert {d["type"] for d in param["decorators"]} >= {"secure", "min_length"}
    assert param.get("default") is None


def test_main_generates_the_function_key_with_azd_and_orders_it_after_the_roles() -> None:
    main = parse(INFRA_DIR / "main.bicep")
    param = main["parameters"]["apimFunctionKey"]
    decorators = {d["type"]: d.get("argument") for d in param["decorators"]}
    assert "secure" in decorators and param.get("default") is None
    assert decorators["metadata"]["azd"]["type"] == "generate"
    assert decorators["metadata"]["azd"]["config"]["length"] >= 32
    api = main["modules"]["apimApi"]["config"]
    assert api["params"]["functionKey"] == "apimFunctionKey"
    assert "roles" in api["dependsOn"], "the host writes the key into storage it needs its roles for"


def test_no_key_is_read_back_from_the_host() -> None:
    for path in bicep_files():
        text = code_without_comments(path)
        assert "listKeys" not in text and "listkeys" not in text.lower(), path.name


def test_backend_sends_the_key_as_x_functions_key(api_template: dict[str, Any]) -> None:
    backend = body(single_resource(api_template, "Microsoft.ApiManagement/service/backends"))
    headers = backend["properties"]["credentials"]["header"]
    (name,) = headers
    assert name.strip("'") == "x-functions-key"
    assert headers[name] == ["{{${functionKeyNamedValue}}}"]
    assert backend["properties"]["url"].endswith("/${routePrefix}")
    assert backend["properties"]["tls"] == {"validateCertificateChain": True, "validateCertificateName": True}


def test_callers_do_not_need_subscription_keys(api_template: dict[str, Any]) -> None:
    api = body(single_resource(api_template, "Microsoft.ApiManagement/service/apis"))
    assert api["properties"]["subscriptionRequired"] is False  # the JWT is the credential


def test_tier_supports_rate_limit_by_key_and_has_a_static_ip() -> None:
    allowed = parse(INFRA_DIR / "main.bicep")["parameters"]["apimSkuName"]["decorators"]
    (skus,) = [d["argument"] for d in allowed if d["type"] == "allowed"]
    assert "Consumption" not in skus  # no rate-limit-by-key there
    assert not [s for s in skus if s.endswith("V2")]  # no static gateway IP for the app's allow-list
    service = body(single_resource(module("apim-service"), "Microsoft.ApiManagement/service"))
    assert service["properties"]["virtualNetworkType"] == "None"
