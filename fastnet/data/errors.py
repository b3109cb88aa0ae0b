"""The data layer's error type.

Every problem with a data file (bad header, truncated or corrupt bytes,
unexpected pickle content, failed checksum, nothing found to load) raises
``DataError``. It subclasses ``ValueError`` so that callers who already catch
bad-input errors catch it too; its message names the file and what is wrong.
"""


class DataError(ValueError):
    """A data file is missing, corrupt, or not what fastnet expects."""
