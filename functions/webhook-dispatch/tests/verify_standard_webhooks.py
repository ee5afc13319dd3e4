"""Verifies one webhook request with the reference `standardwebhooks` package (PyPI), an
implementation independent of ours. Reads {"secret", "headers", "body"} as JSON on stdin; exits 0
when the signature verifies, 1 when it does not, 2 when the package is missing."""

import json
import sys

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    print("the standardwebhooks package is not installed: python3 -m pip install standardwebhooks", file=sys.stderr)
    sys.exit(2)

request = json.load(sys.stdin)
try:
    Webhook(request["secret"]).verify(request["body"].encode(), request["headers"])
except WebhookVerificationError as error:
    print(f"not verified: {error}", file=sys.stderr)
    sys.exit(1)
sys.exit(0)
