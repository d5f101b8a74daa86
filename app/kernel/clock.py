from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

# Returns the current time, timezone-aware UTC; passed in so tests and workers can move it.
Clock = Callable[[], datetime]
