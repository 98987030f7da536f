"""The labelled corpus is data for the audit, not tests to run."""

collect_ignore = ["corpus"]
