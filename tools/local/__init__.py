"""The local multi-region runtime of Application X (`python -m tools.local --help`).

Several local regions serve the real `functions/` code behind a local edge, on moto, with
fault injection and a dashboard. Topology comes from residency.yaml and the stack files.
"""
