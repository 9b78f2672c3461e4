// The instant-notifications API in API Management: backend, function key, operations, policies.
//
// * The function key APIM sends (x-functions-key) is created here as a host key resource
//   (Microsoft.Web/sites/host/functionKeys `apim`) with a value the deployer supplies once per
//   environment (@secure() parameter: azd generates and keeps it; see infra/README.md, "The
//   function key"). The same value goes into a SECRET named value. Nothing reads keys back from
//   the host (no listKeys), so a first deployment does not depend on the host having generated
//   its own keys. It never appears in a parameter file, an app setting or an output.
// * Operations are exactly the app's five routes (tests/infra/routes.py: EXPECTED_ROUTES).
// * Caller operations get infra/apim/operation-caller-policy.xml (validate-jwt, X-Caller-Id
//   delete-then-set from a claim, rate-limit-by-key on that claim and on the body's recipient); the anonymous ones
//   (openapi.json, health) get infra/apim/operation-anonymous-policy.xml (no JWT, per-IP limit).

@description('Existing API Management service.')
param apimName string

@description('Existing Function App that serves the API.')
param functionAppName string

@description('Token version the API app registration issues (accessTokenAcceptedVersion): v1 (null/1) or v2.')
@allowed([
  'v1'
  'v2'
])
param jwtTokenVersion string = 'v2'

@description('Microsoft Entra tenant that issues caller tokens.')
param jwtTenantId string = tenant().tenantId

@description('Application ID URI of the API app registration (api://...): the aud of v1 tokens requested for that URI.')
@minLength(1)
param jwtAudience string

@description('Application (client) ID of the API app registration, a GUID: the aud of every v2 token.')
@minLength(36)
@maxLength(36)
param apiClientId string

@description('Value of the host key `apim` that APIM sends as x-functions-key (generated once per environment, never in a file).')
@secure()
@minLength(32)
param functionKey string


@description('Claim that carries the required permission: roles (app permissions, client credentials) or scp (delegated).')
@allowed([
  'roles'
  'scp'
])
param jwtRequiredClaim string = 'roles'

@description('Permission a caller must hold (app role value or scope name).')
@minLength(1)
param jwtRequiredClaimValue string

@description('Claim whose value becomes X-Caller-Id and the rate-limit key: azp (v2 tokens) / appid (v1 tokens) identify the calling application; oid the calling principal.')
@allowed([
  'azp'
  'appid'
  'oid'
  'sub'
])
param callerIdClaim string = 'azp'

@description('Calls one caller may make per rate-limit period.')
@minValue(1)
param rateLimitCalls int = 60

@description('Rate-limit period in seconds.')
@minValue(1)
@maxValue(300) // rate-limit-by-key's longest renewal period
param rateLimitPeriodSeconds int = 60

@description('Calls per recipient (the body\'s phone number or email address, across all callers) per period: a rough first line; the app counts exactly.')
@minValue(1)
param recipientRateLimitCalls int = 10

@minValue(1)
@maxValue(300) // rate-limit-by-key's longest renewal period
param recipientRateLimitPeriodSeconds int = 300

@description('Calls per client IP per period on the anonymous operations.')
@minValue(1)
param anonymousRateLimitCalls int = 30

@minValue(1)
@maxValue(300) // rate-limit-by-key's longest renewal period
param anonymousRateLimitPeriodSeconds int = 60

// The app's host.json routePrefix; the public path in APIM is the same.
var routePrefix = 'notifications/api/v1'
var backendId = 'instant-notifications-func'
var functionKeyNamedValue = 'instant-function-key'
var functionKeyName = 'apim'
// Largest request body APIM forwards: the app's own limit (instant/http.py MAX_BODY_BYTES, 1 MiB),
// a constant like the answer below that names it.
var maxBodyBytes = 1048576
// The app's own 413 answer, byte for byte (instant/answers.py render_problem; the test compares).
var payloadTooLargeBody = '{"type":"urn:instant-notifications:problem:payload_too_large","title":"The body is too large","status":413,"detail":"The body must be at most 1 MiB.","code":"payload_too_large"}'

var loginEndpoint = environment().authentication.loginEndpoint
var openIdConfigUrl = jwtTokenVersion == 'v2' ? '${loginEndpoint}${jwtTenantId}/v2.0/.well-known/openid-configuration' : '${loginEndpoint}${jwtTenantId}/.well-known/openid-configuration'
var jwtIssuer = jwtTokenVersion == 'v2' ? '${loginEndpoint}${jwtTenantId}/v2.0' : 'https://sts.windows.net/${jwtTenantId}/'

var apiOperations = [
  {
    name: 'send-instant-sms'
    displayName: 'Send one SMS now'
    method: 'POST'
    urlTemplate: '/future/orders/instant/sms'
    anonymous: false
    templateParameters: []
  }
  {
    name: 'send-instant-email'
    displayName: 'Send one email now'
    method: 'POST'
    urlTemplate: '/future/orders/instant/email'
    anonymous: false
    templateParameters: []
  }
  {
    name: 'get-shipment'
    displayName: 'Get a shipment (order status)'
    method: 'GET'
    urlTemplate: '/future/shipment/{shipmentId}'
    anonymous: false
    templateParameters: [
      {
        name: 'shipmentId'
        type: 'string'
        required: true
      }
    ]
  }
  {
    name: 'get-openapi'
    displayName: 'OpenAPI document'
    method: 'GET'
    urlTemplate: '/openapi.json'
    anonymous: true
    templateParameters: []
  }
  {
    name: 'get-health'
    displayName: 'Health'
    method: 'GET'
    urlTemplate: '/health'
    anonymous: true
    templateParameters: []
  }
]

var apiPolicy = replace(replace(replace(loadTextContent('../apim/api-policy.xml'), '__BACKEND_ID__', backendId), '__MAX_BODY_BYTES__', string(maxBodyBytes)), '__PAYLOAD_TOO_LARGE_BODY__', payloadTooLargeBody)

var callerPolicyJwt = replace(replace(replace(replace(loadTextContent('../apim/operation-caller-policy.xml'), '__OPENID_CONFIG_URL__', openIdConfigUrl), '__JWT_AUDIENCE__', jwtAudience), '__API_CLIENT_ID__', apiClientId), '__JWT_ISSUER__', jwtIssuer)
var callerPolicyClaims = replace(replace(replace(callerPolicyJwt, '__REQUIRED_CLAIM__', jwtRequiredClaim), '__REQUIRED_CLAIM_VALUE__', jwtRequiredClaimValue), '__CALLER_ID_CLAIM__', callerIdClaim)
var callerPolicyCaller = replace(replace(callerPolicyClaims, '__RATE_LIMIT_CALLS__', string(rateLimitCalls)), '__RATE_LIMIT_PERIOD_SECONDS__', string(rateLimitPeriodSeconds))
var callerPolicy = replace(replace(callerPolicyCaller, '__PER_RECIPIENT_CALLS__', string(recipientRateLimitCalls)), '__PER_RECIPIENT_PERIOD_SECONDS__', string(recipientRateLimitPeriodSeconds))

var anonymousPolicy = replace(replace(loadTextContent('../apim/operation-anonymous-policy.xml'), '__ANON_RATE_LIMIT_CALLS__', string(anonymousRateLimitCalls)), '__ANON_RATE_LIMIT_PERIOD_SECONDS__', string(anonymousRateLimitPeriodSeconds))

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource functionHost 'Microsoft.Web/sites/host@2024-04-01' existing = {
  parent: functionApp
  name: 'default'
}

// A host key, created as a resource: the documented way to manage Functions keys in Bicep. Its
// value is the deployer's, so this PUT is the only call that needs the host, and nothing is read
// back. main.bicep orders this module after the role assignments the host needs for its key store.
resource apimHostKey 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  parent: functionHost
  name: functionKeyName
  properties: {
    name: functionKeyName
    value: functionKey
  }
}

resource functionKeyValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: functionKeyNamedValue
  properties: {
    displayName: functionKeyNamedValue
    secret: true
    value: functionKey
  }
  // APIM starts sending the key only once the host knows it.
  dependsOn: [
    apimHostKey
  ]
}

resource backend 'Microsoft.ApiManagement/service/backends@2024-05-01' = {
  parent: apim
  name: backendId
  properties: {
    description: 'instant-notifications Function App (Flex Consumption)'
    url: 'https://${functionApp.properties.defaultHostName}/${routePrefix}'
    protocol: 'http'
    credentials: {
      header: {
        'x-functions-key': [
          '{{${functionKeyNamedValue}}}'
        ]
      }
    }
    tls: {
      validateCertificateChain: true
      validateCertificateName: true
    }
  }
  dependsOn: [
    functionKeyValue
  ]
}

resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: apim
  name: 'instant-notifications'
  properties: {
    displayName: 'Instant notifications'
    description: 'Send one SMS or email now; look up a shipment.'
    path: routePrefix
    protocols: [
      'https'
    ]
    // Callers authenticate with an Entra ID token (validate-jwt), not with subscription keys.
    subscriptionRequired: false
    apiType: 'http'
  }
}

resource apiPolicyResource 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: apiPolicy
  }
  dependsOn: [
    backend
  ]
}

resource operations 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for op in apiOperations: {
  parent: api
  name: op.name
  properties: {
    displayName: op.displayName
    method: op.method
    urlTemplate: op.urlTemplate
    templateParameters: op.templateParameters
  }
}]

resource operationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = [for (op, i) in apiOperations: {
  parent: operations[i]
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: (op.anonymous) ? anonymousPolicy : callerPolicy
  }
  dependsOn: [
    apiPolicyResource
  ]
}]

output apiPath string = api.properties.path
output openIdConfigUrl string = openIdConfigUrl
output jwtIssuer string = jwtIssuer
