"""An embedded Standard Webhooks receiver: `POST /sandbox/webhooks/<name>` verifies and records each delivery.

The secret of each receiver comes from the setting SANDBOX_WEBHOOK_SECRETS ({name: "whsec_…"}) or from
`PUT /sandbox/api/webhooks/secrets/<name>` (tester key). The raw body, the headers and the verification
result are recorded (the secret never); faults come from `PUT /sandbox/api/webhooks/faults`, like the
Google sandboxes'. Imports neither shop nor the modules.
"""
