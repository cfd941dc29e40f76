"""The reference endpoint: a bare FastAPI route under the same uvicorn as `patronage serve`
(reads the body, answers small JSON). `python -m bench.bare_app --port N`."""

from __future__ import annotations

import argparse

from fastapi import FastAPI, Request

from patronage.api.serving import serve

app = FastAPI()


@app.post("/bare")
async def bare(request: Request) -> dict[str, object]:
    body = await request.body()
    return {"ok": True, "bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    # The same call as `patronage serve` (cli/main.py): one process, the same options and
    # the same garbage collector setting.
    serve(app, "127.0.0.1", port)


if __name__ == "__main__":
    main()
