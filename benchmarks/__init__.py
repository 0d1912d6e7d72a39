"""Benchmarks: scripts that print figures (docs/SPEED.md). A regular package, so that a library
shipping a top-level 'benchmarks' of its own (opacus does) cannot shadow it."""
