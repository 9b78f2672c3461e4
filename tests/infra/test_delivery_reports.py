"""Delivery reports in Azure (infra/modules/eventgrid.bicep): ACS's system topic, one subscription
to the delivery_report function for the two report types, retries, dead letters with the topic's
identity, and only the role that needs."""

from __future__ import annotations

import ast
from typing import Any

from tests.infra import arm_schema
from tests.infra.bicep import MAIN_BICEP, REPO_ROOT, body, module, parse, resolve, single_resource

BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
REPORT_EVENTS = {
    "Microsoft.Communication.SMSDeliveryReportReceived",
    "Microsoft.Communication.EmailDeliveryReportReceived",
}


def _template() -> dict[str, Any]:
    return module("eventgrid")


def _subscription() -> dict[str, Any]:
    return body(single_resource(_template(), "Microsoft.EventGrid/systemTopics/eventSubscriptions"))


def _accessor(node: Any) -> tuple[str, ...]:
    """``a.b.c`` as ("a", "b", "c")."""
    if isinstance(node, str):
        return (node,)
    operands = node["operator"]["operands"]
    return (*_accessor(operands["operand_1"]), *_accessor(operands["operand_2"]))


def test_the_system_topic_is_on_the_communication_services_resource() -> None:
    template = _template()
    topic = body(single_resource(template, "Microsoft.EventGrid/systemTopics"))
    assert topic["properties"]["topicType"] == "Microsoft.Communication.CommunicationServices"
    assert _accessor(topic["properties"]["source"]) == ("communicationService", "id")
    assert template["resources"]["communicationService"]["type"] == "Microsoft.Communication/communicationServices"
    assert topic["identity"] == {"type": "SystemAssigned"}
    assert topic["location"] == "global"


def test_one_subscription_takes_both_report_types_to_the_delivery_report_function() -> None:
    template = _template()
    properties = _subscription()["properties"]
    assert properties["eventDeliverySchema"] == "EventGridSchema"
    assert set(resolve(properties["filter"]["includedEventTypes"], template)) == REPORT_EVENTS
    assert "destination" not in properties  # delivered with the topic's identity only
    delivery = properties["deliveryWithResourceIdentity"]
    assert delivery["identity"] == {"type": "SystemAssigned"}
    destination = delivery["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"].endswith("/functions/delivery_report")
    assert destination["properties"]["maxEventsPerBatch"] == 1


def test_the_function_the_subscription_names_is_the_one_the_app_registers() -> None:
    source = (REPO_ROOT / "instant" / "entrypoints" / "delivery_reports.py").read_text()
    functions = [n.name for n in ast.parse(source).body if isinstance(n, ast.AsyncFunctionDef)]
    assert "delivery_report" in functions
    assert "delivery_reports_blueprint" in (REPO_ROOT / "function_app.py").read_text()


def test_failed_deliveries_are_retried_then_dead_lettered_with_the_topic_identity() -> None:
    template = _template()
    properties = _subscription()["properties"]
    retry = properties["retryPolicy"]
    params = template["parameters"]
    assert params[retry["maxDeliveryAttempts"]]["default"] == 30
    assert params[retry["eventTimeToLiveInMinutes"]]["default"] == 1440
    assert "deadLetterDestination" not in properties  # no key-based dead lettering
    dead = properties["deadLetterWithResourceIdentity"]
    assert dead["identity"] == {"type": "SystemAssigned"}
    assert dead["deadLetterDestination"]["endpointType"] == "StorageBlob"
    assert _accessor(dead["deadLetterDestination"]["properties"]["resourceId"]) == ("storage", "id")
    container = body(single_resource(template, "Microsoft.Storage/storageAccounts/blobServices/containers"))
    assert dead["deadLetterDestination"]["properties"]["blobContainerName"] == container["name"]
    assert container["properties"]["publicAccess"] == "None"


def test_the_topic_identity_may_write_blobs_into_the_dead_letter_container_only() -> None:
    template = _template()
    role = body(single_resource(template, "Microsoft.Authorization/roleAssignments"))
    assert role["scope"] == "deadLetterContainer"
    assert set(
        resolve(role["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"], template)
    ) == {BLOB_DATA_CONTRIBUTOR}
    assert _accessor(role["properties"]["principalId"]) == ("systemTopic", "identity", "principalId")
    assert "deadLetterWriter" in _subscription()["dependsOn"]


def test_main_deploys_the_module_against_the_app_acs_and_storage() -> None:
    params = parse(MAIN_BICEP)["modules"]["eventGrid"]["config"]["params"]
    assert _accessor(params["communicationServiceName"]) == ("communication", "outputs", "communicationServiceName")
    assert _accessor(params["functionAppName"]) == ("functionApp", "outputs", "functionAppName")
    assert _accessor(params["storageAccountName"]) == ("storage", "outputs", "storageAccountName")
    assert params["createSubscription"] == "deliveryReportSubscription"
    assert parse(MAIN_BICEP)["parameters"]["deliveryReportSubscription"]["default"] is True


def test_the_schema_check_follows_the_destination_type() -> None:
    subscription = {
        "name": "s",
        "properties": {
            "deliveryWithResourceIdentity": {
                "destination": {"endpointType": "AzureFunction", "properties": {"resourceId": "x", "queueName": "q"}}
            }
        },
    }
    problems = arm_schema.check_resource(
        "Microsoft.EventGrid/systemTopics/eventSubscriptions", "2025-02-15", subscription, {}
    )
    assert len(problems) == 1
    assert "queueName: no such property in AzureFunctionEventSubscriptionDestination" in problems[0]
