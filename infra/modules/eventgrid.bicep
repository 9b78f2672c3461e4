// Delivery reports: ACS -> Event Grid system topic -> the Function App's `delivery_report` function.
//
// * The system topic on the Communication Services resource publishes its events; one
//   subscription takes the SMS and email delivery reports (Event Grid schema) to the function
//   (endpointType AzureFunction), with the topic's own managed identity.
// * Event Grid delivers at least once: a report the function fails (storage down, the order
//   still held by a request) is delivered again with backoff for up to a day, then dead-lettered
//   as a blob into `deadLetterContainerName`, written with the topic's identity (no keys: the
//   storage account has shared keys disabled). Role: Storage Blob Data Contributor on that
//   container only.
// * Azure checks that the function exists when the subscription is created, so the first
//   provision of a new environment (before any code is deployed) passes
//   deliveryReportSubscription=false (main.bicep; infra/README.md, "Delivery reports").

@description('Tags applied to every resource.')
param tags object

@description('Event Grid system topic name.')
param systemTopicName string

param communicationServiceName string
param functionAppName string
param storageAccountName string

@description('Create the subscription to the delivery_report function (false only before the code is first deployed).')
param createSubscription bool = true

@description('Blob container for delivery reports Event Grid could not deliver.')
param deadLetterContainerName string = 'delivery-report-deadletters'

@description('Delivery attempts before a report is dead-lettered (1-30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps retrying a report (1-1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

// Storage Blob Data Contributor: write dead-lettered events as blobs.
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var deliveryReportEvents = [
  'Microsoft.Communication.SMSDeliveryReportReceived'
  'Microsoft.Communication.EmailDeliveryReportReceived'
]

resource communicationService 'Microsoft.Communication/communicationServices@2023-04-01' existing = {
  name: communicationServiceName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: systemTopicName
  // ACS is a global resource, and so is its system topic.
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: communicationService.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopic.id, blobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
    principalId: systemTopic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliveryReports 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (createSubscription) {
  parent: systemTopic
  name: 'delivery-reports'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: deliveryReportEvents
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'AzureFunction'
        properties: {
          resourceId: '${functionApp.id}/functions/delivery_report'
          // One report per invocation: the function takes one event (a retry repeats only it).
          maxEventsPerBatch: 1
          preferredBatchSizeInKilobytes: 64
        }
      }
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
  // The topic's identity must be able to write the dead letters before the first one comes.
  dependsOn: [
    deadLetterWriter
    deadLetterContainer
  ]
}

output systemTopicName string = systemTopic.name
output deadLetterContainerName string = deadLetterContainer.name
