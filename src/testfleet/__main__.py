from __future__ import annotations

import sys

from testfleet.cli.main import main

sys.exit(main())
