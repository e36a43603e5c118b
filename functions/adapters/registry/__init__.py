"""The registry of connections and API keys: its items, its table, and the functions' cache."""
