"""The store: SQLModel tables, engine and migrations, queries."""
