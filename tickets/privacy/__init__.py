"""Crypto-shredding: the key table, erasure, retention and the migration of old stores (docs/privacy.md)."""
