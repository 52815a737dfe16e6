"""Template reports (the Lerian Reporter API): data sources, filters, templates and their generation."""
