"""Benchmarks against the physical floor: ``python -m bench`` (see bench/README.md).

Every figure is a ratio against a baseline measured in the same run on the same machine, so a
noisy, shared 2-core machine still gives comparable numbers; nothing here is a timed test.
"""
