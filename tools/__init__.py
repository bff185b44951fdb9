"""Command-line tooling: build, offline preview, local runtime, benchmarks."""
