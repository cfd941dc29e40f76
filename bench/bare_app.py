"""The reference endpoint: a bare FastAPI route under the same uvicorn as `patronage serve`
(reads the body, answers small JSON). `python -m bench.bare_app --port N`."""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request

from patronage.api.serving import UVICORN_OPTIONS

app = FastAPI()


@app.post("/bare")
async def bare(request: Request) -> dict[str, object]:
    body = await request.body()
    return {"ok": True, "bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    # The same call as `patronage serve` (cli/main.py): uvicorn.run, one process, its options.
    uvicorn.run(app, host="127.0.0.1", port=port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
