"""The reference code (tests/plugins/cornernet/reference, unmodified copies of princeton-vl/CornerNet and
CornerNet-Lite) importable as `ref_cornernet` and `ref_lite`; helpers for the tests are in cornerkit.py."""

from __future__ import annotations

import sys
from pathlib import Path

REFERENCE = Path(__file__).with_name("reference")
if str(REFERENCE) not in sys.path:
    sys.path.insert(0, str(REFERENCE))
