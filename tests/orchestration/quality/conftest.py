"""Quality tests reuse the raw-table builders that live next to the expectations tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "expectations"))
