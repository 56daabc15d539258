"""Code rewards: program extraction, sandboxed judges, dataset loaders (issue 4)."""
