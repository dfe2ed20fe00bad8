"""L3 constructs with keyword-only typed props and secure defaults."""
