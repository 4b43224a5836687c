"""An embedded emulation of GA4's Measurement Protocol: `/mp/collect` and the validation server.

`POST /sandbox/ga4/mp/collect` answers 204 for anything, as Google does, and records what it got;
`POST /sandbox/ga4/debug/mp/collect` answers `{"validationMessages": [...]}` by Google's documented limits.
Neither checks `api_secret` or `measurement_id` (Google's validation server does not either); both are
recorded, the secret only masked. Imports neither shop nor the modules.
"""
