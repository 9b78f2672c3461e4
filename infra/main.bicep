// instant-notifications: Azure deployment (resource-group scope).
//
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/env/<env>.parameters.json
//
//   or: azd up   (azure.yaml: provisions this template, then publishes the app)
//
// Deploys: Log Analytics + Application Insights, a storage account (host + app table + Flex
// deployment container), ACS + Email Communication Service, API Management, a Key Vault for the
// digest key, the Function App on Flex Consumption, the identity's role assignments, the API
// (operations + policies, the host key APIM sends) in APIM, and the operators' workbook + alerts.
// No secret is a parameter, an app setting or an output; see infra/README.md. The digest key
// (INSTANT_DIGEST_KEY) is created by the operator in the vault after the first deployment; the
// app setting is a Key Vault reference to it.

targetScope = 'resourceGroup'

// ---- naming / placement ---------------------------------------------------------------------
@description('Environment; part of every resource name.')
@allowed([
  'dev'
  'test'
  'prod'
])
param environmentName string

@description('Region of the regional resources (must offer Flex Consumption and API Management).')
param location string = resourceGroup().location

@description('Short lowercase alphanumeric prefix of resource names.')
@minLength(2)
@maxLength(8)
param namePrefix string = 'instant'

@description('Tags applied to every resource.')
param tags object = {}

// ---- storage / monitoring -------------------------------------------------------------------
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Accept only Entra ID-authenticated telemetry in Application Insights.')
param appInsightsDisableLocalAuth bool = true

// ---- communication --------------------------------------------------------------------------
@description('Data location of ACS and its Email Communication Service (e.g. Europe, United States).')
param acsDataLocation string = 'Europe'

@description('Customer-owned sending domain; empty for the Azure-managed domain only.')
param customEmailDomain string = ''

@description('true once the customer domain is verified (DNS); it is then linked and becomes the default sender.')
param customEmailDomainVerified bool = false

param emailSenderDisplayName string = 'Notifications'

@description('SMS_DEFAULT_SENDER: a number bought in the ACS portal (E.164, e.g. +18005550100) or a registered alphanumeric sender ID. Empty until one exists (cannot be bought with Bicep).')
param smsDefaultSender string = ''

@description('Role of the app identity on the ACS resource (see modules/roles.bicep).')
param acsRoleDefinitionId string = '09976791-48a7-449e-bb21-39d1a415f350'

// ---- app behaviour --------------------------------------------------------------------------
@minValue(1)
@maxValue(60)
param requestBudgetSeconds int = 8

@description('At least 48: the longest SMS time-to-live; a key purged earlier could get a fresh window.')
@minValue(48)
param idempotencyRetentionHours int = 168

@minValue(1)
param auditRetentionDays int = 365

// ---- abuse and cost controls (docs/api.md, "Abuse and cost controls") ----------------------
@description('SMS_RECIPIENT_LIMITS: <count>/<seconds> sliding windows per phone number across all callers, or off.')
param smsRecipientLimits string = '5/600,20/86400'

@description('EMAIL_RECIPIENT_LIMITS: the same per email address, or off.')
param emailRecipientLimits string = '10/600,50/86400'

@description('SMS_ALLOWED_COUNTRIES: ISO 3166 alpha-2 codes, comma-separated, or * for all.')
param smsAllowedCountries string = 'NO'

@description('CALLER_SENDERS (JSON): caller id or * -> {"sms": [...], "email": [...]}, the senders besides the defaults a caller may name.')
param callerSenders string = '{"*":{"sms":[],"email":[]}}'

@description('SMS_MAX_SEGMENTS: the most SMS segments one message may need.')
@minValue(1)
@maxValue(64)
param smsMaxSegments int = 10

@description('SMS_DAILY_SEGMENT_BUDGET: SMS segments one caller may send per UTC day, or off.')
param smsDailySegmentBudget string = '500'

@description('API Management: calls per recipient (phone number or email address in the body) per period, a rough first line.')
@minValue(1)
param recipientRateLimitCalls int = 10

@minValue(1)
@maxValue(300) // rate-limit-by-key's longest renewal period
param recipientRateLimitPeriodSeconds int = 300

@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

@description('Zone-redundant Flex Consumption plan (region must support availability zones).')
param functionZoneRedundant bool = false

@description('HTTP requests per instance before Flex Consumption scales out (see modules/functionapp.bicep and infra/README.md).')
@minValue(1)
@maxValue(1000)
param functionHttpPerInstanceConcurrency int = 16

@description('CIDR ranges allowed to the Function App\'s scm (deployment) site; empty = any, Entra ID only.')
param scmAllowedIpRanges array = []

// ---- API Management -------------------------------------------------------------------------
@description('Classic tiers only (static gateway IP for the app\'s access restriction; Consumption lacks rate-limit-by-key).')
@allowed([
  'Developer'
  'Basic'
  'Standard'
  'Premium'
])
param apimSkuName string = 'Developer'

@minValue(1)
@maxValue(10)
param apimSkuCapacity int = 1

param apimPublisherEmail string
param apimPublisherName string

@allowed([
  'v1'
  'v2'
])
param jwtTokenVersion string = 'v2'

@description('Application ID URI of the API app registration (api://...): accepted as aud (v1 tokens requested for that URI).')
param jwtAudience string

@description('Application (client) ID of the API app registration (a GUID): the aud of every v2 token, also accepted for v1. Not in the parameter files: azd takes it from the azd environment (API_CLIENT_ID), az from -p apiClientId=...')
@minLength(36)
@maxLength(36)
param apiClientId string

@description('Value of the host key APIM sends as x-functions-key. Generated once per environment by azd (kept in the azd environment); with az, generate it once and pass the same value on every deployment (infra/README.md).')
@secure()
@minLength(32)
@metadata({
  azd: {
    type: 'generate'
    config: {
      length: 48
      noSpecial: true
    }
  }
})
param apimFunctionKey string

@allowed([
  'roles'
  'scp'
])
param jwtRequiredClaim string = 'roles'

@description('App role (roles) or scope (scp) a caller must hold.')
param jwtRequiredClaimValue string

@description('Claim that identifies the caller: X-Caller-Id and the rate-limit key.')
@allowed([
  'azp'
  'appid'
  'oid'
  'sub'
])
param callerIdClaim string = 'azp'

@minValue(1)
param rateLimitCalls int = 60

@minValue(1)
@maxValue(300) // rate-limit-by-key's longest renewal period
param rateLimitPeriodSeconds int = 60

@minValue(1)
param anonymousRateLimitCalls int = 30

@minValue(1)
@maxValue(300) // rate-limit-by-key's longest renewal period
param anonymousRateLimitPeriodSeconds int = 60

// ---- operations (workbook + alerts) -----------------------------------------------------------
@description('Resource id of the action group that alert rules notify (per environment); empty = alerts fire without notifying.')
param alertActionGroupId string = ''

@description('p95 latency budget of POST in ms; above it the latency alert fires.')
@minValue(100)
param latencyP95BudgetMs int = 2000

// ---- delivery reports -------------------------------------------------------------------------
@description('Create the Event Grid subscription that takes ACS delivery reports to the delivery_report function. Azure checks that the function exists, so only the very first provision of a new environment (before the code was deployed once) passes false (infra/README.md, "Delivery reports").')
param deliveryReportSubscription bool = true

// ---- names ----------------------------------------------------------------------------------
var suffix = uniqueString(resourceGroup().id, environmentName)
var baseName = '${toLower(namePrefix)}-${environmentName}'
var allTags = union(tags, {
  application: 'instant-notifications'
  environment: environmentName
})
var names = {
  workspace: 'log-${baseName}-${suffix}'
  appInsights: 'appi-${baseName}-${suffix}'
  storage: take(replace('st${toLower(namePrefix)}${environmentName}${suffix}', '-', ''), 24)
  communication: 'acs-${baseName}-${suffix}'
  email: 'email-${baseName}-${suffix}'
  apim: 'apim-${baseName}-${suffix}'
  plan: 'plan-${baseName}-${suffix}'
  functionApp: 'func-${baseName}-${suffix}'
  eventGridTopic: 'evgt-${baseName}-${suffix}'
  // Vault names: 3-24 characters, globally unique; 'kv-' + prefix (<=8) + env (<=4) leaves >= 7 of the suffix.
  keyVault: take('kv-${baseName}-${suffix}', 24)
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: allTags
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    retentionInDays: logRetentionDays
    disableLocalAuth: appInsightsDisableLocalAuth
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: allTags
    storageAccountName: names.storage
    skuName: storageSkuName
  }
}

module communication 'modules/communication.bicep' = {
  name: 'communication'
  params: {
    tags: allTags
    communicationServiceName: names.communication
    emailServiceName: names.email
    dataLocation: acsDataLocation
    customEmailDomain: customEmailDomain
    customEmailDomainVerified: customEmailDomainVerified
    senderDisplayName: emailSenderDisplayName
  }
}

module apimService 'modules/apim-service.bicep' = {
  name: 'apim-service'
  params: {
    location: location
    tags: allTags
    apimName: names.apim
    skuName: apimSkuName
    skuCapacity: apimSkuCapacity
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    workspaceId: monitoring.outputs.workspaceId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    tags: allTags
    keyVaultName: names.keyVault
    workspaceId: monitoring.outputs.workspaceId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    tags: allTags
    planName: names.plan
    functionAppName: names.functionApp
    storageAccountName: storage.outputs.storageAccountName
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    workspaceId: monitoring.outputs.workspaceId
    appInsightsName: monitoring.outputs.appInsightsName
    allowedCallerIpAddresses: apimService.outputs.publicIpAddresses
    scmAllowedIpRanges: scmAllowedIpRanges
    maximumInstanceCount: functionMaximumInstanceCount
    instanceMemoryMB: functionInstanceMemoryMB
    zoneRedundant: functionZoneRedundant
    httpPerInstanceConcurrency: functionHttpPerInstanceConcurrency
    acsEndpoint: communication.outputs.endpoint
    tablesEndpoint: storage.outputs.tableEndpoint
    instantTableName: first(storage.outputs.tableNames)
    smsDefaultSender: smsDefaultSender
    emailDefaultSender: communication.outputs.defaultEmailSender
    emailAllowedSenders: communication.outputs.allowedEmailSenders
    requestBudgetSeconds: requestBudgetSeconds
    idempotencyRetentionHours: idempotencyRetentionHours
    auditRetentionDays: auditRetentionDays
    smsRecipientLimits: smsRecipientLimits
    emailRecipientLimits: emailRecipientLimits
    smsAllowedCountries: smsAllowedCountries
    callerSenders: callerSenders
    smsMaxSegments: smsMaxSegments
    smsDailySegmentBudget: smsDailySegmentBudget
    keyVaultName: keyVault.outputs.keyVaultName
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.storageAccountName
    communicationServiceName: communication.outputs.communicationServiceName
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultName: keyVault.outputs.keyVaultName
    acsRoleDefinitionId: acsRoleDefinitionId
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  params: {
    tags: allTags
    systemTopicName: names.eventGridTopic
    communicationServiceName: communication.outputs.communicationServiceName
    functionAppName: functionApp.outputs.functionAppName
    storageAccountName: storage.outputs.storageAccountName
    createSubscription: deliveryReportSubscription
  }
}

module apimApi 'modules/apim-api.bicep' = {
  name: 'apim-api'
  params: {
    apimName: apimService.outputs.apimName
    functionAppName: functionApp.outputs.functionAppName
    jwtTokenVersion: jwtTokenVersion
    jwtAudience: jwtAudience
    apiClientId: apiClientId
    functionKey: apimFunctionKey
    jwtRequiredClaim: jwtRequiredClaim
    jwtRequiredClaimValue: jwtRequiredClaimValue
    callerIdClaim: callerIdClaim
    rateLimitCalls: rateLimitCalls
    rateLimitPeriodSeconds: rateLimitPeriodSeconds
    recipientRateLimitCalls: recipientRateLimitCalls
    recipientRateLimitPeriodSeconds: recipientRateLimitPeriodSeconds
    anonymousRateLimitCalls: anonymousRateLimitCalls
    anonymousRateLimitPeriodSeconds: anonymousRateLimitPeriodSeconds
  }
  // The host key resource is written by the host into its storage, which needs its storage roles.
  dependsOn: [
    roles
  ]
}

module operations 'modules/operations.bicep' = {
  name: 'operations'
  params: {
    location: location
    tags: allTags
    environmentName: environmentName
    workspaceId: monitoring.outputs.workspaceId
    actionGroupId: alertActionGroupId
    latencyP95BudgetMs: latencyP95BudgetMs
  }
}

output functionAppName string = functionApp.outputs.functionAppName
output functionAppHostName string = functionApp.outputs.defaultHostName
output apimName string = apimService.outputs.apimName
output apiBaseUrl string = '${apimService.outputs.gatewayUrl}/${apimApi.outputs.apiPath}'
output apimPublicIpAddresses array = apimService.outputs.publicIpAddresses
output acsEndpoint string = communication.outputs.endpoint
output emailDefaultSender string = communication.outputs.defaultEmailSender
output storageAccountName string = storage.outputs.storageAccountName
// Where the operator creates the digest key (secret `instant-digest-key`); a name, not a secret.
output keyVaultName string = keyVault.outputs.keyVaultName
output customDomainVerificationRecords object = communication.outputs.customDomainVerificationRecords
output jwtIssuer string = apimApi.outputs.jwtIssuer
output workbookId string = operations.outputs.workbookId
output deliveryReportDeadLetterContainer string = eventGrid.outputs.deadLetterContainerName
// azd writes outputs into its environment; the hooks (scripts/postprovision.sh) read these.
output KEY_VAULT_NAME string = keyVault.outputs.keyVaultName
output FUNCTION_APP_NAME string = functionApp.outputs.functionAppName
output RESOURCE_GROUP_NAME string = resourceGroup().name
