"""Reports that put the scores and the figures together: ``report.html`` (``html_report``).

This layer sits below ``evaluation/`` (the scores) and ``plots/`` (the figures) and may import
both; neither of them imports it (docs/ARCHITECTURE.md, "Layers").
"""
