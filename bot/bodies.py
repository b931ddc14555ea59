"""Reading a request body with a cap, for the webhook endpoints of every transport.

Rule: the body is read in chunks and given up on (None) as soon as it runs past ``limit``
bytes, whatever ``Content-Length`` said, so a sender that lies about it cannot make us buffer
more than the cap.
"""

from __future__ import annotations

from starlette.requests import Request


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it runs past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
