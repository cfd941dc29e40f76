from __future__ import annotations

from patronage.application.ratelimit import RateLimiter


def test_sliding_window_allows_the_limit_then_says_how_long_to_wait() -> None:
    now = [100.0]
    limiter = RateLimiter(limit=2, window_seconds=60, clock=lambda: now[0])
    assert limiter.hit("ip") is None
    now[0] = 110.0
    assert limiter.hit("ip") is None
    assert limiter.hit("ip") == 50.0  # the first attempt leaves the window at 160
    assert limiter.hit("other-ip") is None
    now[0] = 160.0
    assert limiter.hit("ip") is None
    assert limiter.hit("ip") == 10.0
