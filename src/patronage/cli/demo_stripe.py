"""localstripe for the demo, on loopback, keeping its state in the demo's data directory.

localstripe itself listens on every interface and keeps its state in one fixed file,
/tmp/localstripe.pickle, which every instance on the machine overwrites (its only option
is --from-scratch, which forgets). This runs its aiohttp app on 127.0.0.1 and gives its
store a file of the demo's own, so a demo restarted on the same directory still knows the
customers and subscriptions it made. (It changes localstripe, the fake Stripe server,
never the Stripe SDK.)

    python -m patronage.cli.demo_stripe --port N --state DATA_DIR/localstripe.pickle
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path
from typing import Any


def keep_state_in(path: Path) -> None:
    """Make localstripe's store load from and save to `path` (atomically) instead of /tmp."""
    from localstripe import resources

    store: Any = resources.store

    def load() -> None:
        if path.exists():
            with path.open("rb") as file:
                saved = pickle.load(file)  # noqa: S301 - our own demo's file
            dict.clear(store)
            dict.update(store, saved)

    def save() -> None:
        partial = path.with_suffix(".partial")
        with partial.open("wb") as file:
            pickle.dump(dict(store), file, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)

    store.try_load_from_disk = load
    store.dump_to_disk = save
    load()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args()
    keep_state_in(args.state)
    from aiohttp import web
    from localstripe.server import app

    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
