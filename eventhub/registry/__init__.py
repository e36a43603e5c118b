"""Managing the registry at run time: the plan of a config file against the store, applying it,
and the poll schedules that follow the poll connections (``eventhub config apply``, ``keys``,
``connections``, and ``make run`` at start)."""
