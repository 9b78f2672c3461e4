"""Which published model describes each resource type the templates use (tests/infra/arm_schema.py).

One entry per resource type: the azure-mgmt-* models module of the API version the templates use
(pinned in requirements-infra.txt) and the model of the PUT body. A template that uses a type not
listed here fails the schema test until it is added.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schema:
    """Where the model of one resource type lives, and for which API version."""

    module: str  # e.g. azure.mgmt.web.v2024_04_01.models
    model: str  # the PUT body's model
    api_version: str  # the API version of that module
    envelope: str | None = None  # the model describes only this key of the body (e.g. "properties")


# Resource type (lower case) -> its PUT body model. Every type a template uses must be listed.
SCHEMAS: dict[str, Schema] = {
    "microsoft.web/sites": Schema("azure.mgmt.web.v2024_04_01.models", "Site", "2024-04-01"),
    "microsoft.web/serverfarms": Schema("azure.mgmt.web.v2024_04_01.models", "AppServicePlan", "2024-04-01"),
    "microsoft.web/sites/basicpublishingcredentialspolicies": Schema(
        "azure.mgmt.web.v2024_04_01.models", "CsmPublishingCredentialsPoliciesEntity", "2024-04-01"
    ),
    "microsoft.web/sites/host": Schema("azure.mgmt.web.v2024_04_01.models", "HostKeys", "2024-04-01"),
    # Not in Bicep's type index (BCP081 warning): the body is {properties: KeyInfo}, as documented
    # for host keys managed as resources.
    "microsoft.web/sites/host/functionkeys": Schema(
        "azure.mgmt.web.v2024_04_01.models", "KeyInfo", "2024-04-01", envelope="properties"
    ),
    "microsoft.storage/storageaccounts": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "StorageAccountCreateParameters", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/blobservices": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "BlobServiceProperties", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/blobservices/containers": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "BlobContainer", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/tableservices": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "TableServiceProperties", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/tableservices/tables": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "Table", "2023-05-01"
    ),
    "microsoft.apimanagement/service": Schema(
        "azure.mgmt.apimanagement.models", "ApiManagementServiceResource", "2024-05-01"
    ),
    "microsoft.apimanagement/service/namedvalues": Schema(
        "azure.mgmt.apimanagement.models", "NamedValueCreateContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/backends": Schema(
        "azure.mgmt.apimanagement.models", "BackendContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis": Schema(
        "azure.mgmt.apimanagement.models", "ApiCreateOrUpdateParameter", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis/policies": Schema(
        "azure.mgmt.apimanagement.models", "PolicyContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis/operations": Schema(
        "azure.mgmt.apimanagement.models", "OperationContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis/operations/policies": Schema(
        "azure.mgmt.apimanagement.models", "PolicyContract", "2024-05-01"
    ),
    "microsoft.communication/communicationservices": Schema(
        "azure.mgmt.communication.models", "CommunicationServiceResource", "2023-04-01"
    ),
    "microsoft.communication/emailservices": Schema(
        "azure.mgmt.communication.models", "EmailServiceResource", "2023-04-01"
    ),
    "microsoft.communication/emailservices/domains": Schema(
        "azure.mgmt.communication.models", "DomainResource", "2023-04-01"
    ),
    "microsoft.communication/emailservices/domains/senderusernames": Schema(
        "azure.mgmt.communication.models", "SenderUsernameResource", "2023-04-01"
    ),
    # azure-mgmt-eventgrid 10.4.0 ships one API version, 2025-02-15, the one the template uses.
    "microsoft.eventgrid/systemtopics": Schema("azure.mgmt.eventgrid.models", "SystemTopic", "2025-02-15"),
    "microsoft.eventgrid/systemtopics/eventsubscriptions": Schema(
        "azure.mgmt.eventgrid.models", "EventSubscription", "2025-02-15"
    ),
    "microsoft.keyvault/vaults": Schema(
        "azure.mgmt.keyvault.v2023_07_01.models", "VaultCreateOrUpdateParameters", "2023-07-01"
    ),
    "microsoft.insights/components": Schema(
        "azure.mgmt.applicationinsights.v2020_02_02.models", "ApplicationInsightsComponent", "2020-02-02"
    ),
    "microsoft.insights/workbooks": Schema(
        "azure.mgmt.applicationinsights.v2022_04_01.models", "Workbook", "2022-04-01"
    ),
    "microsoft.insights/diagnosticsettings": Schema(
        "azure.mgmt.monitor.v2021_05_01_preview.models", "DiagnosticSettingsResource", "2021-05-01-preview"
    ),
    "microsoft.insights/scheduledqueryrules": Schema(
        "azure.mgmt.monitor.v2022_08_01_preview.models", "ScheduledQueryRuleResource", "2022-08-01-preview"
    ),
    # azure-mgmt-loganalytics has no 2023-09-01 models: the nearest published models are checked
    # (2025-07-01, a superset for the properties set here); infra/README.md states the mismatch.
    "microsoft.operationalinsights/workspaces": Schema("azure.mgmt.loganalytics.models", "Workspace", "2025-07-01"),
    "microsoft.authorization/roleassignments": Schema(
        "azure.mgmt.authorization.v2022_04_01.models", "RoleAssignmentCreateParameters", "2022-04-01"
    ),
}

# (resource type, template API version) checked against models of another version, and why.
KNOWN_VERSION_GAPS: dict[tuple[str, str], str] = {
    ("microsoft.operationalinsights/workspaces", "2023-09-01"): (
        "azure-mgmt-loganalytics ships 2021-06-01 (12.0.0) or 2025-07-01 (13.x); 2025-07-01 is the nearest"
    ),
}
