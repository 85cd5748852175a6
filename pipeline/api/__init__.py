"""The HTTP API (aiohttp): routes, auth, rate limits, SSE and the OpenAPI document."""
