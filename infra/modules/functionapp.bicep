// Function App on the Flex Consumption plan (Linux, Python 3.11), system-assigned identity.
//
// * Host storage is identity based (AzureWebJobsStorage__accountName); the deployment package
//   container is read with the same identity (functionAppConfig.deployment.storage).
// * No secret is an app setting: ACS and Table Storage are reached with the managed identity
//   (ACS_ACCESS_KEY and TABLES_CONNECTION_STRING are deliberately absent), App Insights ingestion
//   uses Entra ID (APPLICATIONINSIGHTS_AUTHENTICATION_STRING). The one secret the app needs,
//   INSTANT_DIGEST_KEY, is a Key Vault reference: the platform resolves it with the app's
//   system-assigned identity (Key Vault Secrets User on the vault, roles.bicep) and hands the app
//   the value; the site config only ever holds `@Microsoft.KeyVault(VaultName=...;SecretName=...)`.
// * Inbound traffic to the app (not to its scm/deployment site) is denied except from the
//   API Management gateway's public IP address(es). The `ApiManagement` service tag is NOT used:
//   it covers APIM's control plane, not the gateway's outbound (data-plane) addresses.

@description('Azure region (must offer Flex Consumption).')
param location string

@description('Tags applied to every resource.')
param tags object

param planName string
param functionAppName string

@description('Storage account of the host (AzureWebJobsStorage) and of the deployment container.')
param storageAccountName string

@description('https://<account>.blob.core.windows.net/<container> for the deployment package.')
param deploymentContainerUrl string

@description('Log Analytics workspace that receives FunctionAppLogs.')
param workspaceId string

@description('Existing Application Insights component; its connection string (an address, not a credential: local auth is disabled) becomes APPLICATIONINSIGHTS_CONNECTION_STRING.')
param appInsightsName string

@description('Public IP addresses of the API Management gateway: the only callers allowed in.')
@minLength(1)
param allowedCallerIpAddresses array

@description('CIDR ranges allowed to the scm (deployment) site. Empty: scm stays reachable but only with Entra ID (basic auth is disabled).')
param scmAllowedIpRanges array = []

@description('Upper bound of Flex Consumption instances (40..1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Zone-redundant plan (Flex Consumption supports it in regions with availability zones).')
param zoneRedundant bool = false

@description('Memory per instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('HTTP requests one instance serves at once before Flex Consumption adds an instance (scaleAndConcurrency.triggers.http.perInstanceConcurrency). 16: the concurrency the bench measured at 92% of ideal throughput and p99 1.25x the provider latency on one worker (bench/results/2026-11-26.md); see infra/README.md.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

// ---- app settings of the HTTP contract -----------------------------------------------------
@description('ACS_ENDPOINT: https://<name>.communication.azure.com')
param acsEndpoint string

@description('TABLES_ENDPOINT: https://<account>.table.core.windows.net')
param tablesEndpoint string

@description('INSTANT_TABLE_NAME')
param instantTableName string

@description('SMS_DEFAULT_SENDER: an ACS phone number (E.164) or registered alphanumeric sender ID. Empty: not set (SMS unavailable until a number is bought).')
param smsDefaultSender string = ''

@description('EMAIL_DEFAULT_SENDER: DoNotReply@<linked domain>')
param emailDefaultSender string

@description('EMAIL_ALLOWED_SENDERS: senders a request may choose.')
param emailAllowedSenders array

@description('INSTANT_REQUEST_BUDGET_SECONDS')
param requestBudgetSeconds int = 8

@description('IDEMPOTENCY_RETENTION_HOURS')
param idempotencyRetentionHours int = 168

@description('AUDIT_RETENTION_DAYS')
param auditRetentionDays int = 365

@description('SMS_RECIPIENT_LIMITS')
param smsRecipientLimits string = '5/600,20/86400'

@description('EMAIL_RECIPIENT_LIMITS')
param emailRecipientLimits string = '10/600,50/86400'

@description('SMS_ALLOWED_COUNTRIES')
param smsAllowedCountries string = 'NO'

@description('CALLER_SENDERS (JSON). EMAIL_ALLOWED_SENDERS, its deprecated alias, still adds the ACS domains\' senders to "*".')
param callerSenders string = '{"*":{"sms":[],"email":[]}}'

@description('SMS_MAX_SEGMENTS')
param smsMaxSegments int = 10

@description('SMS_DAILY_SEGMENT_BUDGET')
param smsDailySegmentBudget string = 'off'

@description('Key Vault that holds the digest key (INSTANT_DIGEST_KEY is a reference to its secret, never the value).')
param keyVaultName string

// Name of the secret in the vault. The operator creates it once (infra/README.md, "Digest key");
// the template never sets its value.
var digestKeySecretName = 'instant-digest-key'

var contractSettings = [
  {
    name: 'ACS_ENDPOINT'
    value: acsEndpoint
  }
  {
    name: 'TABLES_ENDPOINT'
    value: tablesEndpoint
  }
  {
    name: 'INSTANT_TABLE_NAME'
    value: instantTableName
  }
  {
    name: 'EMAIL_DEFAULT_SENDER'
    value: emailDefaultSender
  }
  {
    name: 'EMAIL_ALLOWED_SENDERS'
    value: join(emailAllowedSenders, ',')
  }
  {
    name: 'CALLER_SENDERS'
    value: callerSenders
  }
  {
    name: 'SMS_RECIPIENT_LIMITS'
    value: smsRecipientLimits
  }
  {
    name: 'EMAIL_RECIPIENT_LIMITS'
    value: emailRecipientLimits
  }
  {
    name: 'SMS_ALLOWED_COUNTRIES'
    value: smsAllowedCountries
  }
  {
    name: 'SMS_MAX_SEGMENTS'
    value: string(smsMaxSegments)
  }
  {
    name: 'SMS_DAILY_SEGMENT_BUDGET'
    value: smsDailySegmentBudget
  }
  {
    name: 'INSTANT_REQUEST_BUDGET_SECONDS'
    value: string(requestBudgetSeconds)
  }
  {
    name: 'IDEMPOTENCY_RETENTION_HOURS'
    value: string(idempotencyRetentionHours)
  }
  {
    name: 'AUDIT_RETENTION_DAYS'
    value: string(auditRetentionDays)
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  {
    // Entra ID ingestion with the system-assigned identity (Monitoring Metrics Publisher).
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD'
  }
]

// Key Vault references (App Service/Functions syntax, no version = the latest version of the
// secret, re-read at least every 24 h and on every config change). Unresolved (secret missing, no
// role yet), the app receives the literal reference and refuses to start, naming the setting.
var keyVaultSettings = [
  {
    name: 'INSTANT_DIGEST_KEY'
    value: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${digestKeySecretName})'
  }
]

// Only set when a number/sender ID exists: an empty sender is worse than an absent one. Without it
// the app starts, email works and an SMS request answers 503 channel_not_configured (the app's
// side of issue 13 point 3); scripts/postprovision.sh or a redeploy sets it once a number exists.
var smsSettings = empty(smsDefaultSender) ? [] : [
  {
    name: 'SMS_DEFAULT_SENDER'
    value: smsDefaultSender
  }
]

// Identity-based host storage. FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION must not be
// set on Flex Consumption: the runtime comes from functionAppConfig.runtime.
var hostSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
]

var apimRules = [for (ip, i) in allowedCallerIpAddresses: {
  name: 'apim-gateway-${i}'
  description: 'API Management gateway (the only caller of this app)'
  ipAddress: '${ip}/32'
  action: 'Allow'
  priority: 100 + i
}]

var scmRules = [for (cidr, i) in scmAllowedIpRanges: {
  name: 'deployer-${i}'
  description: 'Deployment source'
  ipAddress: cidr
  action: 'Allow'
  priority: 100 + i
}]

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  // checkov:skip=CKV_AZURE_225:Zone redundancy is the per-environment parameter zoneRedundant (prod.parameters.json sets it); dev/test deliberately run without it.
  properties: {
    reserved: true // Linux
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222:The app is reached by API Management over its public endpoint (classic-tier gateway, no VNet), but ipSecurityRestrictions deny everything except the gateway's static IP, and the function key is held by APIM alone. Private endpoint + APIM VNet is the documented upgrade path.
  // checkov:skip=CKV_AZURE_17:No incoming client certificates: the only caller (APIM) is authenticated by the IP allow-list and the function key; mTLS would add a certificate lifecycle (Key Vault) for the same caller.
  // checkov:skip=CKV_AZURE_212:Flex Consumption scales out per demand and scales to zero by design; there is no fixed instance count (always-ready instances can be added later for latency, not failover).

  // checkov:skip=CKV_AZURE_78:FTP(S) is off through the ftp basicPublishingCredentialsPolicies resource (allow: false) below; siteConfig.ftpsState cannot say it here because Flex Consumption rejects that property at deployment (FtpsState is invalid for Flex Consumption sites).
  // checkov:skip=CKV_AZURE_213:The platform health check (healthCheckPath) is not supported on Flex Consumption; /health is an anonymous operation exposed through APIM for external probes.
  name: functionAppName
  location: location
  // azd finds the app to publish by this tag (azure.yaml service `api`).
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        // Governs Flex scale-out; host.json's maxConcurrentRequests does not (infra/README.md).
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      ipSecurityRestrictionsDefaultAction: 'Deny'
      ipSecurityRestrictions: apimRules
      scmIpSecurityRestrictionsUseMain: false
      scmIpSecurityRestrictionsDefaultAction: empty(scmAllowedIpRanges) ? 'Allow' : 'Deny'
      scmIpSecurityRestrictions: scmRules
      appSettings: concat(hostSettings, contractSettings, keyVaultSettings, smsSettings)
    }
  }
}

// Publishing with user/password (basic auth) is off for both FTP and scm: deployments use Entra ID.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: functionApp
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

output functionAppName string = functionApp.name
output functionAppId string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
output principalId string = functionApp.identity.principalId
