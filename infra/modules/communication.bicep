// Azure Communication Services (SMS + email) with an Email Communication Service.
//
// * An Azure-managed domain (<guid>.azurecomm.net, sender DoNotReply@...) is always created and
//   linked: it needs no DNS work, so email works right after the first deployment.
// * A customer domain is created when customEmailDomain is set. Azure refuses to link a domain
//   that is not verified, so it is linked (and becomes the default sender) only once
//   customEmailDomainVerified is true: deploy, add the DNS records from the output
//   `customDomainVerificationRecords`, verify, then redeploy with the flag set (infra/README.md).
// * SMS numbers / alphanumeric sender IDs cannot be bought or registered through ARM/Bicep;
//   they are acquired in the portal and passed to the app as a parameter (main.bicep).

@description('Tags applied to every resource.')
param tags object

@description('Communication Services resource name (globally unique).')
param communicationServiceName string

@description('Email Communication Service resource name.')
param emailServiceName string

@description('Where ACS stores data at rest. ACS and its email service must use the same value.')
@allowed([
  'Africa'
  'Asia Pacific'
  'Australia'
  'Brazil'
  'Canada'
  'Europe'
  'France'
  'Germany'
  'India'
  'Japan'
  'Korea'
  'Norway'
  'Switzerland'
  'UAE'
  'UK'
  'United States'
])
param dataLocation string

@description('Customer-owned sending domain (e.g. notify.example.com). Empty: Azure-managed domain only.')
param customEmailDomain string = ''

@description('Set to true after the customer domain passed DNS verification; only then is it linked.')
param customEmailDomainVerified bool = false

@description('Display name of the DoNotReply sender on the customer domain.')
param senderDisplayName string = 'Notifications'

var useCustomDomain = !empty(customEmailDomain)
var linkCustomDomain = useCustomDomain && customEmailDomainVerified

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

resource azureManagedDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = {
  parent: emailService
  // The name Azure requires for the Azure-managed domain.
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource customDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = if (useCustomDomain) {
  parent: emailService
  name: useCustomDomain ? customEmailDomain : 'unused'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'CustomerManaged'
    userEngagementTracking: 'Disabled'
  }
}

// Azure-managed domains come with DoNotReply; a customer domain needs the sender created.
resource customDomainSender 'Microsoft.Communication/emailServices/domains/senderUsernames@2023-04-01' = if (useCustomDomain) {
  parent: customDomain
  name: 'donotreply'
  properties: {
    username: 'DoNotReply'
    displayName: senderDisplayName
  }
}

resource communicationService 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: communicationServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
    linkedDomains: linkCustomDomain ? [
      azureManagedDomain.id
      customDomain.id
    ] : [
      azureManagedDomain.id
    ]
  }
}

var azureManagedSender = 'DoNotReply@${azureManagedDomain.properties.fromSenderDomain}'
var customSender = linkCustomDomain ? 'DoNotReply@${customEmailDomain}' : ''

output communicationServiceName string = communicationService.name
output communicationServiceId string = communicationService.id
output endpoint string = 'https://${communicationService.properties.hostName}'
// The customer domain, once verified and linked, is the default sender.
output defaultEmailSender string = linkCustomDomain ? customSender : azureManagedSender
output allowedEmailSenders array = linkCustomDomain ? [
  customSender
  azureManagedSender
] : [
  azureManagedSender
]
// DNS records (TXT/SPF/DKIM/DKIM2/DMARC) to create for the customer domain; not secret.
output customDomainVerificationRecords object = useCustomDomain ? customDomain.properties.verificationRecords : {}
