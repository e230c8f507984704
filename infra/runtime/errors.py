"""What the launcher reports when the platform cannot start."""


class PlatformError(RuntimeError):
    """The platform could not start: the message says which part and why."""
