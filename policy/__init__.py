"""The appx-gdpr CrossGuard policy pack (see policy/__main__.py and docs/policy.md)."""
