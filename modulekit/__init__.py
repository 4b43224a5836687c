"""What the GA4 and Google Ads modules share: trigger settings stored by key, and the decision recorder.

A module describes its settings as fields (``settings.Field``) and gets load/save with validation,
defaults and masked secrets; its receiver hands a decide function to ``decisions.record`` and gets the
decision row (and the outbox row when it fires) written in a savepoint of the shop's transaction.
"""
