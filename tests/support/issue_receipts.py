"""A separate OS process issuing single receipts: `python -m tests.support.issue_receipts
GIFT_ID...` with the store from PATRONAGE_* (the multi-process numbering test)."""

from __future__ import annotations

import sys
from uuid import UUID

from patronage.bootstrap import bootstrap
from patronage.config import load_settings


def main() -> None:
    patronage = bootstrap(load_settings())
    try:
        for gift_id in sys.argv[1:]:
            patronage.receipting.issue_single(UUID(gift_id))
    finally:
        patronage.close()


if __name__ == "__main__":
    main()
