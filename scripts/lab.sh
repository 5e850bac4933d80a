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

if ! command -v pulumi >/dev/null; then
  echo "netboot-lab: the Pulumi CLI is not installed; get it from https://www.pulumi.com/docs/install/" >&2
  exit 1
fi
[ -f "stacks/Pulumi.$stack.yaml" ] || { echo "netboot-lab: no stack file stacks/Pulumi.$stack.yaml" >&2; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund

# Validate before Pulumi starts: a bad stack is explained without touching anything deployed.
npm run --silent netboot-lab -- render --stack "$stack" --out ".pulumi-state/rendered/$stack" >/dev/null

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi-state}"
# The lab keeps no secrets in config; an empty passphrase keeps the local backend prompt-free.
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
pulumi stack select --create "$stack" --non-interactive >/dev/null
exec pulumi $action --stack "$stack" "$@"
