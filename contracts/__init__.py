"""The only code every part imports: messages on the bus, topic names, and how they evolve."""
