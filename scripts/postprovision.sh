#!/bin/sh
# azd postprovision hook: what Bicep cannot do (infra/README.md, "What has to be done by hand").
#
# 1. The digest key (INSTANT_DIGEST_KEY): created ONCE per environment in the vault, never
#    rotated by a deployment (a new key changes every stored fingerprint). If the secret exists,
#    nothing happens. Otherwise the signed-in identity gets "Key Vault Secrets Officer" on this
#    vault for the time it takes, the key is generated locally (openssl) and set without being
#    printed, the role is removed again, and the app re-reads its Key Vault references.
# 2. The SMS sender cannot be bought or registered through ARM: if SMS_DEFAULT_SENDER is not set
#    in the azd environment, say so (the app runs; SMS answers 503 channel_not_configured).
set -eu

: "${KEY_VAULT_NAME:?KEY_VAULT_NAME missing: run through azd (an output of infra/main.bicep)}"
: "${FUNCTION_APP_NAME:?FUNCTION_APP_NAME missing: run through azd}"
: "${RESOURCE_GROUP_NAME:?RESOURCE_GROUP_NAME missing: run through azd}"
SECRET=instant-digest-key
OFFICER=b86a8fe4-44ce-4948-aee5-eccb2c155cd7 # Key Vault Secrets Officer

if az keyvault secret show --vault-name "$KEY_VAULT_NAME" --name "$SECRET" --query id -o tsv >/dev/null 2>&1; then
  echo "digest key: $SECRET exists in $KEY_VAULT_NAME (left as it is)"
else
  VAULT_ID=$(az keyvault show -n "$KEY_VAULT_NAME" --query id -o tsv)
  if [ "$(az account show --query user.type -o tsv)" = "servicePrincipal" ]; then
    ME=$(az ad sp show --id "$(az account show --query user.name -o tsv)" --query id -o tsv)
    KIND=ServicePrincipal
  else
    ME=$(az ad signed-in-user show --query id -o tsv)
    KIND=User
  fi
  az role assignment create --role "$OFFICER" --scope "$VAULT_ID" \
    --assignee-object-id "$ME" --assignee-principal-type "$KIND" -o none
  # A new role assignment takes a while to apply: retry for up to 5 minutes.
  tries=0
  until az keyvault secret set --vault-name "$KEY_VAULT_NAME" --name "$SECRET" \
    --value "$(openssl rand -base64 32)" -o none 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      echo "digest key: could not set $SECRET (role not effective yet?); run azd provision again" >&2
      exit 1
    fi
    sleep 10
  done
  az role assignment delete --role "$OFFICER" --scope "$VAULT_ID" --assignee "$ME" -o none
  echo "digest key: created $SECRET in $KEY_VAULT_NAME"
  APP_ID=$(az functionapp show -g "$RESOURCE_GROUP_NAME" -n "$FUNCTION_APP_NAME" --query id -o tsv)
  az rest --method post -o none \
    --url "https://management.azure.com$APP_ID/config/configreferences/appsettings/refresh?api-version=2022-03-01"
fi

if [ -z "${SMS_DEFAULT_SENDER:-}" ]; then
  echo "SMS sender: not set. Email works; SMS answers 503 channel_not_configured until you buy a number"
  echo "  (portal: Communication Services resource -> Phone numbers), then:"
  echo "  azd env set SMS_DEFAULT_SENDER +4790000000 && azd provision"
else
  echo "SMS sender: $SMS_DEFAULT_SENDER"
fi
