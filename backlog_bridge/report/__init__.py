"""The theme report for leads (HTML, Markdown, JSON) and the before/after verdict on shipped fixes."""
