// Role assignments for the Function App's system-assigned identity: least privilege, each scoped
// to the one resource it is needed on.
//
// | role                                   | scope             | why |
// |----------------------------------------|-------------------|-----|
// | Storage Blob Data Owner                | storage account   | identity-based AzureWebJobsStorage: the host creates its containers, keeps keys and timer/singleton blob leases; also reads the Flex deployment package. Documented minimum for host storage (Contributor is not enough: the host must create containers). |
// | Storage Table Data Contributor         | storage account   | the app's tables: instantorders (layout row, tallies, an earlier version's orders) and one per month, instantordersYYYYMM (orders + audit), which the app creates and its retention timer drops (the role reads, writes and deletes tables and entities); and the host's diagnostic-events table. |
// | Communication and Email Service Owner  | ACS resource      | send SMS and email with Entra ID (see acsRoleDefinitionId). |
// | Monitoring Metrics Publisher           | App Insights      | Entra ID telemetry ingestion (local auth disabled). |
// | Key Vault Secrets User                 | Key Vault         | resolve the INSTANT_DIGEST_KEY Key Vault reference (get the secret `instant-digest-key`); the vault holds nothing else. |
//
// No queue role: the app has no queue/blob trigger and no Durable Functions; the timer trigger
// only needs blob leases (Blob Data Owner). No Key Vault write role: the app only reads its key;
// the operator sets it (infra/README.md, "Digest key").

@description('principalId of the Function App\'s system-assigned identity.')
param principalId string

param storageAccountName string
param communicationServiceName string
param appInsightsName string
param keyVaultName string

@description('Role on the ACS resource. Default: "Communication and Email Service Owner". Contributor (b24988ac-6180-42a0-ab88-20f7382dd24c) only if SMS is refused with the default (see infra/README.md).')
@allowed([
  '09976791-48a7-449e-bb21-39d1a415f350'
  'b24988ac-6180-42a0-ab88-20f7382dd24c'
])
param acsRoleDefinitionId string = '09976791-48a7-449e-bb21-39d1a415f350'

var roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource communicationService 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: communicationServiceName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roleIds.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roleIds.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.storageTableDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource acsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communicationService.id, principalId, acsRoleDefinitionId)
  scope: communicationService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acsRoleDefinitionId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, roleIds.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource digestKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, principalId, roleIds.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
