// What operators look at: an Azure Monitor workbook and log alert rules, both on the telemetry the
// app already emits (instant/telemetry.py spans instant.request / instant.provider.* /
// instant.purge.*, the "retention purge" log line) and on APIM's gateway log.
//
// * Every query is a .kql file under infra/kql/ (loaded here with loadTextContent); the tests read
//   the same files and parse them (tests/infra/test_operations.py).
// * The workbook and the alerts read the Log Analytics workspace (workspace-based Application
//   Insights writes AppRequests/AppDependencies/AppTraces there; APIM writes AzureDiagnostics).
// * Alerts notify the action group given per environment; none given = the rules still fire
//   and show in the portal, but notify nobody.

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Environment name (part of display names).')
param environmentName string

@description('Log Analytics workspace that holds the app\'s and APIM\'s telemetry.')
param workspaceId string

@description('Resource id of the action group alerts notify; empty = no notification.')
param actionGroupId string = ''

@description('5xx share (%) of the app\'s answers over 15 minutes that raises an alert.')
param serverErrorRatePercent int = 5

@description('provider_unavailable share (%) of sends over 15 minutes that raises an alert.')
param providerUnavailableRatePercent int = 10

@description('p95 latency of POST (ms) over 15 minutes above which an alert is raised.')
param latencyP95BudgetMs int = 2000

var tiles = [
  {
    name: 'sends-per-minute'
    title: 'Sends per minute by channel / outcome code'
    query: loadTextContent('../kql/workbook/sends-per-minute.kql')
    visualization: 'timechart'
  }
  {
    name: 'post-latency'
    title: 'POST latency p50 / p95 / p99 (ms)'
    query: loadTextContent('../kql/workbook/post-latency.kql')
    visualization: 'timechart'
  }
  {
    name: 'provider-failures'
    title: 'Provider failures and 503 answers'
    query: loadTextContent('../kql/workbook/provider-failures.kql')
    visualization: 'timechart'
  }
  {
    name: 'client-error-rates'
    title: '409 / 422 / 429 share of answers (%)'
    query: loadTextContent('../kql/workbook/client-error-rates.kql')
    visualization: 'timechart'
  }
  {
    name: 'gateway-throttling'
    title: 'API Management: 401 / 413 / 429 before the app'
    query: loadTextContent('../kql/workbook/gateway-throttling.kql')
    visualization: 'timechart'
  }
  {
    name: 'delivery-reports'
    title: 'Delivery reports by outcome'
    query: loadTextContent('../kql/workbook/delivery-reports.kql')
    visualization: 'timechart'
  }
  {
    name: 'retention-purge'
    title: 'Retention purge runs'
    query: loadTextContent('../kql/workbook/retention-purge.kql')
    visualization: 'table'
  }
]

var workbookContent = {
  version: 'Notebook/1.0'
  items: [for tile in tiles: {
    type: 3
    name: tile.name
    content: {
      version: 'KqlItem/1.0'
      title: tile.title
      query: tile.query
      size: 0
      queryType: 0
      resourceType: 'microsoft.operationalinsights/workspaces'
      visualization: tile.visualization
      timeContext: {
        durationMs: 86400000
      }
    }
  }]
  fallbackResourceIds: [
    workspaceId
  ]
}

resource workbook 'Microsoft.Insights/workbooks@2022-04-01' = {
  // A workbook's name must be a GUID; stable per resource group and environment.
  name: guid(resourceGroup().id, 'instant-notifications-workbook', environmentName)
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Instant notifications (${environmentName})'
    category: 'workbook'
    sourceId: workspaceId
    serializedData: string(workbookContent)
  }
}

var alertActions = empty(actionGroupId) ? [] : [
  actionGroupId
]

var alerts = [
  {
    name: 'server-error-rate'
    description: 'More than ${serverErrorRatePercent}% of the app\'s answers are 5xx.'
    severity: 1
    query: loadTextContent('../kql/alerts/server-error-rate.kql')
    measure: 'rate'
    threshold: serverErrorRatePercent
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'provider-unavailable-rate'
    description: 'More than ${providerUnavailableRatePercent}% of sends answered 503 provider_unavailable.'
    severity: 2
    query: loadTextContent('../kql/alerts/provider-unavailable-rate.kql')
    measure: 'rate'
    threshold: providerUnavailableRatePercent
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'post-latency-p95'
    description: 'p95 latency of POST is over ${latencyP95BudgetMs} ms.'
    severity: 2
    query: loadTextContent('../kql/alerts/post-latency-p95.kql')
    measure: 'p95'
    threshold: latencyP95BudgetMs
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'purge-failures'
    description: 'A retention purge failed (the purge runs hourly; expired keys and audit entries stay until it succeeds).'
    severity: 2
    query: loadTextContent('../kql/alerts/purge-failures.kql')
    measure: 'failures'
    threshold: 0
    frequency: 'PT1H'
    window: 'PT2H'
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2022-08-01-preview' = [for alert in alerts: {
  name: 'instant-${environmentName}-${alert.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'instant-notifications ${environmentName}: ${alert.name}'
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: alert.frequency
    windowSize: alert.window
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Maximum'
          metricMeasureColumn: alert.measure
          operator: 'GreaterThan'
          threshold: alert.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: alertActions
    }
  }
}]

output workbookId string = workbook.id
output alertRuleNames array = [for (alert, i) in alerts: alertRules[i].name]
