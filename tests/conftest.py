"""Session-wide settings for every test layer."""

from __future__ import annotations

import os
import tempfile

# testfleet remembers the store of the last run in the user's cache (store/locate.py); the
# runs of this suite remember theirs in a private directory, never in the real home.
os.environ.setdefault("TESTFLEET_CACHE_DIR", tempfile.mkdtemp(prefix="testfleet-cache-"))
