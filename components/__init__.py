"""Application X infrastructure components.

Kept import-free on purpose: `components.residency` and `components.regions` are read by the
policy pack and tools that must not pay for (or depend on) pulumi_aws.
"""
