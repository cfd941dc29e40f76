"""The tests' HTTP calls to the servers they start on loopback: httpx's own functions, with
one TLS context shared by every call.

httpx builds a TLS context for each client it makes, loading the whole CA bundle (47 ms of
CPU), and `httpx.get` or `httpx.post` make a new client for every call: an eighth of the
suite's CPU went there (py-spy over a whole run). The servers speak plain HTTP on loopback,
and each call still opens its own connection, as before.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

TLS = ssl.create_default_context()


def get(url: str, **options: Any) -> httpx.Response:
    return httpx.get(url, verify=TLS, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return httpx.post(url, verify=TLS, **options)


def request(method: str, url: str, **options: Any) -> httpx.Response:
    return httpx.request(method, url, verify=TLS, **options)


def client(**options: Any) -> httpx.Client:
    return httpx.Client(verify=TLS, **options)
