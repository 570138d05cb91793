"""A push-only feed on Python `websockets`: {"type":"tick","n":N} every 2 s, never answering.
With ?silent_after=K it stops pushing after K ticks (and keeps the connection open)."""
import asyncio
import json
import sys
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import serve


async def feed(connection):
    query = parse_qs(urlparse(connection.request.path).query)
    silent_after = int(query.get("silent_after", ["-1"])[0])
    n = 0
    while silent_after < 0 or n < silent_after:
        await asyncio.sleep(2)
        await connection.send(json.dumps({"type": "tick", "n": n}))
        n += 1
    await connection.wait_closed()


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    async with serve(feed, "127.0.0.1", port) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()


asyncio.run(main())
