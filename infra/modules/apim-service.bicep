// API Management instance (classic tier).
//
// Tier: rate-limit-by-key is not available in the Consumption tier. Of the tiers that have it,
// the classic ones (Developer, Basic, Standard, Premium) are used because their gateway has a
// dedicated, static public IP address (`publicIPAddresses`), which the Function App's access
// restrictions allow and nothing else. The v2 tiers (BasicV2/StandardV2) call backends from
// shared SNAT addresses that are neither static nor in the `ApiManagement` service tag, so they
// would need VNet integration + a private endpoint on the app (see infra/README.md).
// Developer (no SLA, one unit) for dev/test; Basic or Standard for prod.

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('API Management service name (globally unique).')
param apimName string

@allowed([
  'Developer'
  'Basic'
  'Standard'
  'Premium'
])
param skuName string = 'Developer'

@description('Scale units (Developer is always 1).')
@minValue(1)
@maxValue(10)
param skuCapacity int = 1

@description('Publisher e-mail shown by APIM (required by the service).')
param publisherEmail string

param publisherName string

@description('Log Analytics workspace that receives the gateway logs.')
param workspaceId string

var tlsSettings = {
  // Old protocols and the 3DES cipher off on both sides of the gateway.
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Ssl30': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168': 'false'
}

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  // checkov:skip=CKV_AZURE_107:APIM is the public entry point of this API (external gateway); VNet injection exists only in Developer/Premium classic tiers and is not needed for a public API whose backend is locked to the gateway's IP.
  // checkov:skip=CKV_AZURE_174:Public network access is the purpose of this gateway: callers on the internet authenticate with Entra ID tokens (validate-jwt).
  name: apimName
  location: location
  tags: tags
  sku: {
    name: skuName
    capacity: skuName == 'Developer' ? 1 : skuCapacity
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
    publicNetworkAccess: 'Enabled'
    virtualNetworkType: 'None'
    customProperties: tlsSettings
  }
}

resource gatewayLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: apim
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'GatewayLogs'
        enabled: true
      }
    ]
  }
}

output apimName string = apim.name
output gatewayUrl string = apim.properties.gatewayUrl
// Static for the lifetime of a classic-tier service (one per region).
output publicIpAddresses array = apim.properties.publicIPAddresses
