"""Read NPS survey exports into the store."""
