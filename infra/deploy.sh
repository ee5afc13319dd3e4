#!/usr/bin/env bash
# Builds every function for the template's architecture (arm64 by default) with cargo-lambda,
# deploys the stack, then runs the pending migrations once through the `migrate` function.
# Needs: sam, aws, cargo-lambda (pip install cargo-lambda) with zig, and the Rust target of the
# architecture (rustup target add aarch64-unknown-linux-gnu).
#
# Migrations run after the new code is live, so they must be additive (expand, then contract in
# a later release): new code must still work for the minute before its migration lands.
set -euo pipefail
cd "$(dirname "$0")/.."
config="$PWD/infra/samconfig.toml"
stack=$(sed -n 's/^stack_name = "\(.*\)"/\1/p' "$config")

sam build --config-file "$config"
sam deploy --config-file "$config" "$@"

migrate=$(aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='MigrateFunctionName'].OutputValue" --output text)
out=$(mktemp)
aws lambda invoke --function-name "$migrate" --cli-binary-format raw-in-base64-out \
    --payload '{"source": "infra/deploy.sh"}' "$out" --query FunctionError --output text | grep -qv Unhandled \
    || { echo "migration failed:" >&2; cat "$out" >&2; exit 1; }
echo "migrations: $(cat "$out")"
