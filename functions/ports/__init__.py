"""The interfaces the logic depends on, one module per area; adapters implement them.

Logic imports these and models, never a concrete adapter; an adapter imports no logic.
"""
