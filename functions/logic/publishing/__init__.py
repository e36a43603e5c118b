"""Forwarding stored events to the company's event bus (see ``entries`` and ``publish``)."""
