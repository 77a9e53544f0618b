"""MSRP throughput over loopback TCP through imkit's transport, against a
plain asyncio TCP copy of the same bytes (the limit of this machine and
event loop).

One 10 MB message in 2 KB chunks (RFC 4975 section 5.1 chunking, a 200 per
chunk, a success report at the end), Alice active, Bob passive, both in one
process and one event loop.  The MSRP time runs from ``send()`` until Bob
has the whole message and Alice has the success report.

    python bench/bench_msrp.py [--size-mb 10] [--chunk 2048] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from imkit.msrp import MSRPURI, MSRPSession, Role, SessionConfig
from imkit.runtime.msrp_transport import MSRPChannel, MSRPListener

MB = 1_000_000


async def msrp_round(body: bytes, chunk_size: int) -> float:
    config = SessionConfig(chunk_size=chunk_size, max_message_size=len(body) + 1)
    listener = await MSRPListener.start()
    try:
        bob_uri = listener.uri()
        alice_uri = MSRPURI("msrp", "127.0.0.1", 9, "alice" + os.urandom(4).hex(), "tcp")
        bob = listener.accept(MSRPSession([bob_uri], [alice_uri], Role.PASSIVE, config=config))
        alice = await MSRPChannel.connect(MSRPSession([alice_uri], [bob_uri], Role.ACTIVE, config=config))
        await asyncio.gather(alice.wait_bound(10), bob.wait_bound(10))
        start = time.perf_counter()
        message_id = await alice.send(body, "application/octet-stream", success_report=True)
        received = await bob.receive()
        await alice.delivered(message_id)
        elapsed = time.perf_counter() - start
        assert getattr(received, "body", None) == body, "MSRP delivered different bytes"
        await alice.close()
        return elapsed
    finally:
        await listener.close()


async def tcp_round(body: bytes) -> float:
    done = asyncio.get_running_loop().create_future()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = 0
        while got < len(body):
            data = await reader.read(65536)
            if not data:
                break
            got += len(data)
        done.set_result(got)
        writer.close()

    server = await asyncio.start_server(sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        start = time.perf_counter()
        writer.write(body)
        await writer.drain()
        got = await done
        elapsed = time.perf_counter() - start
        assert got == len(body), "the TCP copy lost bytes"
        writer.close()
        return elapsed
    finally:
        server.close()
        await server.wait_closed()


async def main(size_mb: float, chunk_size: int, rounds: int) -> None:
    body = os.urandom(int(size_mb * MB))
    msrp = min([await msrp_round(body, chunk_size) for _ in range(rounds)])
    tcp = min([await tcp_round(body) for _ in range(rounds)])
    msrp_rate, tcp_rate = len(body) / MB / msrp, len(body) / MB / tcp
    print(f"message: {len(body) / MB:.1f} MB in {chunk_size}-byte chunks, best of {rounds}")
    print(f"MSRP (imkit transport):  {msrp_rate:8.1f} MB/s  ({msrp * 1000:.0f} ms)")
    print(f"plain asyncio TCP copy:  {tcp_rate:8.1f} MB/s  ({tcp * 1000:.0f} ms)")
    print(f"ratio MSRP / TCP:        {msrp_rate / tcp_rate:8.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.size_mb, args.chunk, args.rounds))
