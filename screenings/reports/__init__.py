"""The combined before / watching / after report of a screening: aggregates, charts and exporters."""
