"""Root conftest of the demo suite.

It registers nothing on purpose: the ``fleet`` marker used in ``tests/test_orders.py`` is
registered by testfleet's pytest plugin, and this suite does not use ``--strict-markers``, so
plain ``pytest`` without testfleet installed still runs it (with an "unknown mark" warning).
"""
