"""The gateway: the JSON API (and, later, each tier's web and mobile interface) over the bus."""
