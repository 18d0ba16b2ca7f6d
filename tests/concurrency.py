"""Running the same call twice at once, as two beat schedulers or two workers would."""

import threading

import pytest
from django.db import connection


def twice_at_once(call) -> list:
    """Start ``call`` in two threads at the same moment, each with its own database
    connection, and return both results. Only PostgreSQL lets two writers race; SQLite
    serialises them, so there the test is skipped."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers, so there is no race to test")
    results, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        try:
            results.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
