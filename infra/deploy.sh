#!/usr/bin/env bash
# Deploys Nexus: checks every prerequisite first (each missing one named, with how to fix it),
# builds every function for the template's architecture with cargo-lambda, deploys the stack,
# runs the pending migrations (and makes sure an admin exists) once through the `migrate`
# function, then calls GET /api/health on the deployed API and fails loudly unless it is 200.
# Every `aws` call uses the region (and profile) of infra/samconfig.toml, as sam does.
#
#   infra/deploy.sh            the whole deploy (extra arguments go to `sam deploy`)
#   infra/deploy.sh --check    only the prerequisite checks
#
# Migrations run after the new code is live, so they must be additive (expand, then contract in
# a later release): new code must still work for the minute before its migration lands.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${NEXUS_SAMCONFIG:-$PWD/infra/samconfig.toml}

setting() { sed -n "s/^$1 = \"\(.*\)\"/\1/p" "$config" | head -n 1; }
parameter() { sed -n "s/^ *\"$1=\(.*\)\",\{0,1\}$/\1/p" "$config" | head -n 1; }
stack=$(setting stack_name)
region=$(setting region)
profile=$(setting profile)
aws_args=(--region "$region")
[ -n "$profile" ] && aws_args+=(--profile "$profile")

# --- prerequisites: every problem at once, each with its fix ------------------------------------
problems=()
problem() { problems+=("$1"); }
[ -n "$stack" ] || problem "infra/samconfig.toml: set stack_name under [default.global.parameters]."
[ -n "$region" ] || problem "infra/samconfig.toml: set region under [default.global.parameters] (e.g. ap-southeast-3)."
command -v sam >/dev/null || problem "SAM CLI missing: pip install aws-sam-cli"
command -v aws >/dev/null && aws --version >/dev/null 2>&1 || problem "AWS CLI missing: pip install awscli (or the AWS CLI v2 installer)"
command -v cargo-lambda >/dev/null || problem "cargo-lambda missing: pip install cargo-lambda"
architecture=$(parameter Architecture)
if [ "${architecture:-arm64}" = arm64 ]; then
    command -v zig >/dev/null || python3 -c 'import ziglang' 2>/dev/null \
        || problem "zig missing (cargo-lambda cross-compiles arm64 with it): pip install ziglang"
    rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu \
        || problem "Rust target for arm64 missing: rustup target add aarch64-unknown-linux-gnu (or Architecture=x86_64)"
fi
for name in AdminEmail WebAppOrigin VpcId SubnetIds FunctionSecurityGroupIds DatabaseSecurityGroupIds; do
    value=$(parameter "$name")
    if [ -z "$value" ] || [[ "$value" == *REPLACE* ]]; then
        problem "infra/samconfig.toml: parameter_overrides needs $name (the template's Parameters say what it is)."
    fi
done
if [ "$(parameter CreateVpcEndpoints)" = true ]; then
    value=$(parameter RouteTableIds)
    if [ -z "$value" ] || [[ "$value" == *REPLACE* ]]; then
        problem "infra/samconfig.toml: CreateVpcEndpoints=true needs RouteTableIds (the subnets' route tables, for the S3 gateway endpoint)."
    fi
fi
if command -v aws >/dev/null && [ -n "$region" ] && ! aws sts get-caller-identity "${aws_args[@]}" >/dev/null 2>&1; then
    problem "AWS credentials: none that work${profile:+ for profile $profile} in $region (aws configure, or AWS_PROFILE / AWS_ACCESS_KEY_ID)."
fi
if [ ${#problems[@]} -gt 0 ]; then
    echo "Not deploying; fix these first:" >&2
    printf '  - %s\n' "${problems[@]}" >&2
    exit 1
fi
echo "prerequisites: ok (stack $stack in $region${profile:+, profile $profile}, $architecture)"
[ "${1:-}" = --check ] && exit 0

# --- build, deploy ---------------------------------------------------------------------------------
# The RDS CA bundle the read replica's TLS is verified against (a layer: /opt/rds-ca/…); fetched
# fresh each deploy, since AWS rotates its CAs. Only used with CreateReadReplica=true.
mkdir -p infra/rds-ca/rds-ca
curl -fsS --retry 3 -o infra/rds-ca/rds-ca/global-bundle.pem \
    https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
sam build --config-file "$config"
sam deploy --config-file "$config" "$@"

output() {
    aws cloudformation describe-stacks "${aws_args[@]}" --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

# --- migrations and the first admin ----------------------------------------------------------------
migrate=$(output MigrateFunctionName)
out=$(mktemp)
error=$(aws lambda invoke "${aws_args[@]}" --function-name "$migrate" --cli-binary-format raw-in-base64-out \
    --payload '{"source": "infra/deploy.sh"}' "$out" --query FunctionError --output text)
if [ "$error" != None ]; then
    echo "MIGRATION FAILED ($error); the cause is in the $migrate log group:" >&2
    cat "$out" >&2
    exit 1
fi
echo "migrations: $(cat "$out")"
if grep -q '"admin":"created"' "$out"; then
    echo "first admin: $(parameter AdminEmail); initial password (change it at first sign-in):"
    echo "  aws secretsmanager get-secret-value ${aws_args[*]} --secret-id $(output AdminInitialPasswordSecret) --query SecretString --output text"
fi

# --- smoke test ----------------------------------------------------------------------------------------
api=$(output ApiUrl)
status=$(curl -s -o "$out" -w '%{http_code}' --max-time 30 "$api/api/health" || true)
if [ "$status" != 200 ]; then
    echo "SMOKE TEST FAILED: GET $api/api/health answered ${status:-nothing}: $(cat "$out" 2>/dev/null)" >&2
    exit 1
fi
echo "deployed: $api (GET /api/health: 200 $(cat "$out"))"
