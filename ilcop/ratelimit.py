"""A fixed-window rate limit held in the cache, for pages anyone may post to."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def client_address(request) -> str:
    """The client's address: the last X-Forwarded-For entry when a trusted proxy adds it
    (TRUST_X_FORWARDED_FOR), otherwise the connection's address. Only ever hashed."""
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def over_limit(*parts: str, limit: int, window_seconds: int) -> bool:
    """Count one more attempt for ``parts``; True once there have been more than ``limit``
    in the current window.

    The key is a keyed hash, so the cache never holds an IP address or anything else it
    was given, and the entry expires with the window.
    """
    digest = hashlib.sha256("\x1f".join((settings.SECRET_KEY, *parts)).encode()).hexdigest()
    key = f"ratelimit:{digest}"
    cache.add(key, 0, window_seconds)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        attempts = 1
    return attempts > limit
