"""The event archive: every platform record kept durably on disk, hash-chained per partition, and restorable."""
