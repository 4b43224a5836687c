"""An embedded emulation of Google Ads' `customers/{id}:uploadConversionAdjustments` (REST, camelCase JSON).

The sandbox knows conversions by (customer, conversion action, order id): testers and the demo register
them with `PUT /sandbox/api/googleads/conversions`. Adjustments are checked as Google checks them
(shared/DOMAIN.md §4.1) and answered with `results` and a `partialFailureError` holding per-row errors.
Auth: `Authorization: Bearer <token>` where the token is one of SANDBOX_GOOGLEADS_TOKENS; the sandbox
takes the module's OAuth refresh token directly as the bearer (Google itself wants an access token
exchanged for it). Developer tokens were retired in 2026: the header is ignored. Imports neither shop
nor the modules.
"""
