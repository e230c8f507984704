"""Registry: tiers, admin units, stations, deputies, grids, handlers, leaders, users and roles."""
