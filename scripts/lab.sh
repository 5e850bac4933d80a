#!/usr/bin/env bash
# Deploys, previews or destroys a lab stack with a local file state backend (no Pulumi Cloud
# login). Usage: npm run lab -- up|preview|destroy|refresh|output STACK [pulumi flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: npm run lab -- up|preview|destroy|refresh|output STACK [pulumi flags...]" >&2; exit 2; }
action="${1:-}"; stack="${2:-}"
[ -n "$action" ] && [ -n "$stack" ] || usage
shift 2
case "$action" in up|preview|destroy|refresh) ;; output) action="stack output" ;; *) usage ;; esac

stack_file="stacks/Pulumi.$stack.yaml"
[ -f "$stack_file" ] || { echo "netboot-lab: no stack file $stack_file" >&2; exit 1; }

# Pulumi takes PULUMI_CONFIG_PASSPHRASE when it is set, even empty, else the file that
# PULUMI_CONFIG_PASSPHRASE_FILE names (its content trimmed).
passphrase_given() {
  if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ]; then [ -n "$PULUMI_CONFIG_PASSPHRASE" ]; return; fi
  [ -n "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ] && [ -n "$(tr -d '[:space:]' <"$PULUMI_CONFIG_PASSPHRASE_FILE" 2>/dev/null)" ]
}
# A secure: value encrypted with an empty passphrase is readable by anyone who has the stack file.
if grep -Eq '^[^#]*(^|[[:space:]{,])secure:' "$stack_file" && ! passphrase_given; then
  cat >&2 <<EOT
netboot-lab: $stack_file holds secret (secure:) values, but the config passphrase is empty, so
they are encrypted with an empty key. Set the passphrase the secrets were set with:
  export PULUMI_CONFIG_PASSPHRASE_FILE=~/.netboot-lab-passphrase   (a file holding it, mode 600)
  or: export PULUMI_CONFIG_PASSPHRASE='...'
Secrets set with an empty passphrase: choose one, then run
  pulumi stack change-secrets-provider passphrase --stack $stack
and set them again (pulumi config set --secret ...).
EOT
  exit 1
fi

if ! command -v pulumi >/dev/null; then
  echo "netboot-lab: the Pulumi CLI is not installed; get it from https://www.pulumi.com/docs/install/" >&2
  exit 1
fi
[ -d node_modules ] || npm ci --no-audit --no-fund

# Validate before Pulumi starts: a bad stack is explained without touching anything deployed.
npm run --silent netboot-lab -- render --stack "$stack" --out ".pulumi-state/rendered/$stack" >/dev/null

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
# A stack without secrets runs prompt-free with an empty passphrase; a passphrase file given
# stays in force (an empty PULUMI_CONFIG_PASSPHRASE would take precedence over it).
if [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"; fi
pulumi stack select --create "$stack" --non-interactive >/dev/null
exec pulumi $action --stack "$stack" "$@"
