"""The parts of benchmarks/quality.py: the tables (datasets), the three tools (tools) and the
Markdown tables of scores (table). Run the benchmark itself with benchmarks/quality.py."""
