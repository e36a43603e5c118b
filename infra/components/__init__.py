"""One construct per capability of the hub; ``infra.stack`` composes them."""
