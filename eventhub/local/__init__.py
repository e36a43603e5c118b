"""The hub on one machine: moto in server mode as AWS, a local API Gateway, the real handlers.

``python -m eventhub.local`` (``make run``) starts it; tests and benchmarks embed it with
``LocalStack`` (``from eventhub.local.stack import LocalStack``).
"""
