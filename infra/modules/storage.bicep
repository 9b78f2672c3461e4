// Storage for the Functions host (identity-based AzureWebJobsStorage), the Flex Consumption
// deployment package container, and the app's own table(s).
//
// Shared-key access is disabled: every caller (host, app, deployment) uses Microsoft Entra ID.

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Storage account name (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Replication. ZRS where the region supports it is the better choice for prod.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Tables the app uses (INSTANT_TABLE_NAME is the first one).')
param tableNames array = [
  'instantorders'
]

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string = 'app-package'

@description('Days deleted blobs/containers can be restored.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 7

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35:No virtual network in this design (Flex app without VNet integration reaches storage over its public endpoint); access is Entra ID only because shared keys are disabled. Private endpoints are the documented next step in infra/README.md.
  // checkov:skip=CKV_AZURE_59:Same reason as CKV_AZURE_35: the Flex app has no VNet integration, so the public endpoint must stay reachable; shared keys are disabled.
  // checkov:skip=CKV_AZURE_206:Replication is a per-environment parameter (storageSkuName); LRS is the deliberate choice for dev/test, prod sets ZRS.
  // checkov:skip=CKV_AZURE_43:The name is a parameter (checkov cannot evaluate it); main.bicep derives it from a lowercase alphanumeric prefix + uniqueString and the @minLength/@maxLength decorators bound it.
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for tableName in tableNames: {
  parent: tableService
  name: tableName
}]

output storageAccountName string = storage.name
output storageAccountId string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
// The app's contract wants the endpoint without the trailing slash ARM returns.
output tableEndpoint string = 'https://${storage.name}.table.${environment().suffixes.storage}'
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
output tableNames array = tableNames
