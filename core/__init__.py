"""Plumbing shared by shop, pixelplus and sandbox: access control, column types, JSON errors.

Nothing here knows the shop's vocabulary, so any package may import it.
"""
