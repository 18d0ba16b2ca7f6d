"""A Redis cache that treats an unreachable Redis as an empty cache instead of an error.

Nothing the product needs lives only in the cache: it holds drawn charts (drawn again on a
miss), rate-limit counters (ilcop.ratelimit, allauth's) and allauth's used-TOTP-code marks.
Django's RedisCache raises redis' ConnectionError on every call while Redis is down, which
would turn every page that touches the cache into a 500. This subclass logs the error and
answers as a cache miss: reads return the default, writes do nothing, and a counter starts
again from ``delta``. Rate limits therefore open while Redis is down; the outage is logged
(and Celery cannot queue meanwhile either, see ilcop.outbox), so it will not go unnoticed.
The same policy as django-redis' IGNORE_EXCEPTIONS, without another dependency.
"""

import functools
import hashlib
import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

DOWN = (RedisConnectionError, RedisTimeoutError)


def _tolerant(fallback):
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except DOWN as exc:
                logger.warning("cache unavailable (%s); %s treated as a miss",
                               type(exc).__name__, method.__name__)
                return fallback(*args, **kwargs)
        return wrapper
    return decorate


def _default(key, default=None, *args, **kwargs):
    return default


class ResilientRedisCache(RedisCache):
    get = _tolerant(_default)(RedisCache.get)
    get_many = _tolerant(lambda *a, **k: {})(RedisCache.get_many)
    has_key = _tolerant(lambda *a, **k: False)(RedisCache.has_key)
    # A write that cannot be made leaves a miss, which the next read handles.
    set = _tolerant(lambda *a, **k: None)(RedisCache.set)
    set_many = _tolerant(lambda *a, **k: [])(RedisCache.set_many)
    # add() reports "stored"; nothing stored means the caller counts from scratch.
    add = _tolerant(lambda *a, **k: True)(RedisCache.add)
    touch = _tolerant(lambda *a, **k: False)(RedisCache.touch)
    delete = _tolerant(lambda *a, **k: False)(RedisCache.delete)
    delete_many = _tolerant(lambda *a, **k: None)(RedisCache.delete_many)
    clear = _tolerant(lambda *a, **k: False)(RedisCache.clear)
    incr = _tolerant(lambda key, delta=1, *a, **k: delta)(RedisCache.incr)


# The folders whose files decide what the cached HTML and charts look like.
_CODE_FOLDERS = ("ilcop", "programmes", "visits", "qips", "templates")


@functools.cache
def code_release() -> str:
    """A digest of the project's Python source and templates, read once per process.

    Part of the key of whatever is cached as drawn or rendered by the code (page fragments),
    so a release that changes a template or a drawing function never serves what the old code
    produced, without anyone having to clear the cache."""
    from django.conf import settings

    digest = hashlib.sha256()
    for folder in _CODE_FOLDERS:
        for path in sorted((settings.BASE_DIR / folder).rglob("*")):
            if path.suffix in (".py", ".html") and "migrations" not in path.parts:
                digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
