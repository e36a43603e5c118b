"""`make bench`: every benchmark the issues name, against the local stack, in one table."""
