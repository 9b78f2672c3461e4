"""Facts from recorded ACS exchanges and the ACS docs, as small fixtures (each names its source).

Only what the emulator tests compare against is kept; sanitized values stay sanitized.
"""

from __future__ import annotations

import re
from typing import Any

# Source: Azure/azure-sdk-assets, python/sdk/communication/azure-communication-email/tests/recordings/
# test_email_client_e2e_async.pyTestEmailClienttest_send_email_single_recipient.json (2024-08-30):
# the 202 and the first poll carry Retry-After 3 and an explicit "error": null; the terminal poll
# (3-4 s after the send) carries no Retry-After.
EMAIL_SEND_202: dict[str, Any] = {
    "status": 202,
    "headers": {"Retry-After": "3"},
    "body": {"id": "someId", "status": "Running", "error": None},
}
EMAIL_POLL_RUNNING: dict[str, Any] = {"status": 200, "headers": {"Retry-After": "3"}, "body_status": "Running"}
EMAIL_POLL_TERMINAL: dict[str, Any] = {"status": 200, "body": {"id": "someId", "status": "Succeeded", "error": None}}
EMAIL_RUNNING_SECONDS_RANGE = (3.0, 10.0)  # 3-4 s in the recordings, up to 10 s measured (issue 16)

# Source: specification/communication/data-plane/Email/stable/2025-09-01/CommunicationServicesEmail.json
# (Azure/azure-rest-api-specs): the EmailSendResult status enum, and Operation-Id is "format": "uuid".
EMAIL_STATUSES = ("NotStarted", "Running", "Succeeded", "Failed", "Canceled")
# Source: .../Email/stable/2025-09-01/examples/GetOperationStatusReturnsFailedTerminalStatus.json
EMAIL_DROPPED = {"code": "EmailDropped", "message": "Email was dropped after several attempts to deliver."}
# Source: public ACS clients quoting the service ("EmailDroppedAllRecipientsSuppressed. Message dropped
# because all recipients were suppressed"); no recording in the SDK repos.
EMAIL_SUPPRESSED_CODE = "EmailDroppedAllRecipientsSuppressed"

# Source: "Repeatability of Requests", azure-rest-api-specs docs-ref-conceptual/communication/
# repeatable-requests.md: 5 minutes tracked; older first-sent -> 412 with this text; a repeat while
# the original is in progress -> 409.
REPEATABILITY_WINDOW_SECONDS = 300
REPEATABILITY_412_MESSAGE = "Repeatability first sent header was not in 5 minutes window."
REPEAT_IN_PROGRESS_STATUS = 409

# Source: Azure/azure-sdk-for-python, sdk/communication/azure-communication-sms/tests/recordings/
# test_sms_client_e2e.pyTestClienttest_send_sms_unauthorized_from_phone_number.json (from +14255550123).
SMS_UNAUTHORIZED_FROM: dict[str, Any] = {
    "from": "+14255550123",
    "status": 401,
    "body": {"error": {"code": "Unauthorized", "message": ""}},
}
# Source: same folder, test_sms_client_e2e.pyTestClienttest_send_sms_fake_from_phone_number.json.
SMS_FAKE_FROM: dict[str, Any] = {
    "from": "+15550000000",
    "status": 401,
    "body": {"error": {"code": "InternalError", "message": "The server encountered an internal error."}},
}
# Source: same folder, test_sms_client_e2e.pyTestClienttest_send_sms_fake_to_phone_number.json
# (to "Ad155500000000000", with repeatability fields sent): a 202 whose item has no messageId and
# no repeatabilityResult.
SMS_FAKE_TO: dict[str, Any] = {
    "to": "Ad155500000000000",
    "status": 202,
    "item": {"httpStatusCode": 400, "errorMessage": "Invalid To phone number format.", "successful": False},
}
# Source: same folder, test_sms_client_e2e.pyTestClienttest_send_sms_single.json: the item's keys.
SMS_SUCCESS_ITEM_KEYS = {"to", "messageId", "httpStatusCode", "repeatabilityResult", "successful"}

# Source: the SMS Event Grid example (MicrosoftDocs/azure-docs, event-grid/communication-services-
# telephony-sms-events.md: "Outgoing_202009180022138813a09b-0cbf-4304-9b03-1546683bb910") and the SMS
# log example ("Outgoing_20230118181300ff00e5c9-876d-4958-86e3-4637484fe5bd_noam").
SMS_MESSAGE_ID = re.compile(r"^Outgoing_\d{14}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(_[a-z]+)?$")

# Source: the 400 quoted in Azure-Samples/communication-services-dotnet-quickstarts#49: ASP.NET model
# validation (errors keyed by field, "SmsRecipients": ["Max of 100 phone are allowed in the To field."]).
SMS_PROBLEM_KEYS = {"type", "title", "status", "errors", "traceId"}
SMS_TOO_MANY_RECIPIENTS = {"SmsRecipients": ["Max of 100 phone are allowed in the To field."]}

# Source: the ACS HMAC tutorial (MicrosoftDocs/azure-docs, communication-services/tutorials/includes/
# hmac-header-python.md) and the SDKs' _shared/policy.py.
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"

# Source: Event Grid docs (event-grid/communication-services-email-events.md, ...-sms-events.md).
SMS_REPORT_EVENT = "Microsoft.Communication.SMSDeliveryReportReceived"
EMAIL_REPORT_EVENT = "Microsoft.Communication.EmailDeliveryReportReceived"
EVENT_KEYS = {"id", "topic", "subject", "data", "eventType", "dataVersion", "metadataVersion", "eventTime"}
