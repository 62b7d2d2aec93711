#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays the bytes going each way by half a round-trip time,
so that a local registry answers as one across a network would (latency only: bandwidth is
not limited). Started by bench/registry-lib.sh when BENCH_RTT_MS is set.

    latency-proxy.py LISTEN_PORT TARGET_PORT RTT_MS

Prints "listening" on stdout once it accepts connections.
"""

import asyncio
import sys
import time


async def forward(reader, writer, delay):
    """Copies reader to writer, each chunk released `delay` seconds after it arrived; chunks
    stay in order and in flight together, so a long body is delayed once, not per chunk."""
    queue = asyncio.Queue()

    async def release():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    sender = asyncio.create_task(release())
    try:
        while data := await reader.read(1 << 16):
            queue.put_nowait((time.monotonic() + delay, data))
    finally:
        queue.put_nowait((0.0, None))
        await sender


async def main():
    listen, target, rtt_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    delay = rtt_ms / 2000

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_writer.close()
            return
        try:
            await asyncio.gather(
                forward(client_reader, server_writer, delay),
                forward(server_reader, client_writer, delay),
            )
        except (ConnectionError, OSError):
            pass
        finally:
            for w in (client_writer, server_writer):
                w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
