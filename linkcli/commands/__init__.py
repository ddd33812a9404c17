"""One framework-free module per command; each returns a result for `output` to show."""
