"""Reading a request body with a size limit that holds while reading, not after.

``await request.body()`` buffers the whole body before anyone can look at its length, so a client could
make the server hold any number of bytes only to be refused; these routes stop at the limit instead.
"""
from __future__ import annotations

from starlette.requests import Request


async def body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``limit`` bytes (by its Content-Length, or while
    streaming one without it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
