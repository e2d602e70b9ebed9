"""How the web server treats patient data in transit: uploads stay in memory.

Streamlit receives an upload through Starlette's multipart parser, which keeps a
file in memory up to ``MultiPartParser.spool_max_size`` (1 MB by default) and
rolls anything larger over to an unnamed temporary file in ``/tmp``. A cohort
file must never reach the disk, so the app raises that threshold to the upload
limit (``server.maxUploadSize``) before the first upload can arrive.
"""

from __future__ import annotations

from starlette.formparsers import MultiPartParser

#: Bytes of multipart framing allowed on top of the upload limit.
FRAMING = 64 * 1024


def keep_uploads_in_memory(max_upload_mb: int) -> int:
    """Hold uploads of up to ``max_upload_mb`` megabytes in memory; returns the bytes.

    Examples
    --------
    >>> keep_uploads_in_memory(50) == 50 * 1024 * 1024 + FRAMING
    True
    """
    limit = int(max_upload_mb) * 1024 * 1024 + FRAMING
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, limit)
    return limit
