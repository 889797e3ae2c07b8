"""The trader's own data: exchange exports into scenarios.

Pure and offline: nothing here opens a network connection or needs an API key.
:mod:`margin.imports.documents` reads pasted JSON safely (size, UTF-8, depth, NaN) and reads
fields out of it with their names.
"""

from margin.imports.documents import MAX_DEPTH, MAX_IMPORT_BYTES

__all__ = ["MAX_DEPTH", "MAX_IMPORT_BYTES"]
