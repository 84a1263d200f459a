"""Load and abuse the service on loopback: concurrent small reviews, concurrent hostile uploads, slow clients.

Starts ``uvicorn`` with :func:`api.server.uvicorn_config` (the settings ``lantu serve``
uses) on 127.0.0.1, on a port the server binds itself (port 0, reported back), in
open demo mode over a demo blueprint, then:

1. N concurrent small reviews (one demo parcel each; a 429 is retried after its
   ``Retry-After``, as a client should) — p50/p99 latency, status counts;
2. concurrent hostile uploads (a zip whose GeoJSON expands past the budget at a
   ratio far below the bomb threshold, and a JSON body of a million vertices),
   while ``/healthz`` is polled — its latency under load;
3. slow clients that trickle their request head — closed by the header timeout;

and prints the figures, with the server's peak RSS (sampled every 50 ms). Exit code
1 when a 5xx was seen, ``/healthz`` took over 1 s, or RSS passed 1 GB.

    .venv/bin/python benchmarks/load_service.py            # 200 reviews, 4 hostile uploads
    .venv/bin/python benchmarks/load_service.py --small    # a few seconds, for CI

Loopback only, bounded in count and time (every request has a timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import psutil

SERVER = r"""
import socket, sys
import uvicorn
from api.app import create_app
from api.server import uvicorn_config
from api.settings import Settings

settings = Settings(open_demo=True, tiles="none", header_timeout=float(sys.argv[1]))
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
config = {**uvicorn_config(settings), "log_level": "warning"}
config.pop("host"); config.pop("port")
server = uvicorn.Server(uvicorn.Config(create_app(settings), **config))
server.run(sockets=[sock])
"""


PROBER = r"""
import json, sys, time, os, urllib.request
url, stop = sys.argv[1], sys.argv[2]
out = []
while not os.path.exists(stop):
    t = time.perf_counter()
    try:
        urllib.request.urlopen(url, timeout=30).read()
        out.append(time.perf_counter() - t)
    except OSError:
        out.append(float("inf"))
    time.sleep(0.1)
print(json.dumps(out))
"""


class Prober:
    """``/healthz`` timed from a separate process, so the load generator's own loop does not skew it."""

    def __init__(self, base: str, folder: Path):
        self.stop = folder / f"stop-{time.monotonic_ns()}"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PROBER, base + "/healthz", str(self.stop)], stdout=subprocess.PIPE, text=True
        )

    def finish(self) -> list[float]:
        self.stop.touch()
        out, _ = self.proc.communicate(timeout=60)
        return [float(v) for v in json.loads(out)]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class RssSampler(threading.Thread):
    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                rss = self.process.memory_info().rss + sum(
                    c.memory_info().rss for c in self.process.children(recursive=True)
                )
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            time.sleep(0.05)


def start_server(blueprint: Path, db: Path, header_timeout: float) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "LANTU_BLUEPRINT": str(blueprint), "LANTU_DATABASE_URL": f"sqlite:///{db}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(header_timeout)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline().strip() or 0)
    if not port:
        raise RuntimeError("the server did not start")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        time.sleep(0.2)
    raise RuntimeError("the server was not ready within 120 s")


async def small_reviews(base: str, features: list[dict[str, Any]], count: int, folder: Path) -> dict[str, Any]:
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    retried = 0
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:

        async def one(n: int) -> None:
            nonlocal retried
            started = time.perf_counter()
            for _ in range(60):
                try:
                    r = await client.post("/api/v1/reviews", json=features[n % len(features)])
                except httpx.TransportError:  # a connection the server closed after a 429: retry
                    statuses[0] = statuses.get(0, 0) + 1
                    continue
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code != 429:
                    break
                retried += 1
                await asyncio.sleep(float(r.headers.get("retry-after", "1")) * (0.5 + random.random()))
            latencies.append(time.perf_counter() - started)

        prober = Prober(base, folder)
        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        wall = time.perf_counter() - started
        health = prober.finish()
    return {"statuses": statuses, "latencies": latencies, "retried_429": retried, "wall_s": wall, "health": health}


def hostile_zip(megabytes: int) -> bytes:
    """A zip whose one GeoJSON expands to ``megabytes`` MB at a modest ratio (no bomb by ratio)."""
    rng = random.Random(7)
    ring = [[round(116.6 + rng.random() * 0.01, 7), round(35.4 + rng.random() * 0.01, 7)] for _ in range(600)]
    piece = json.dumps({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    parts, size = [], 0
    while size < megabytes * 1024 * 1024:  # deflate finds the repeats: a ratio near 110, under the bomb threshold
        parts.append(piece.replace('"properties": {}', f'"properties": {{"id": "{rng.getrandbits(32):08x}"}}'))
        size += len(parts[-1]) + 1
    text = '{"type": "FeatureCollection", "features": [' + ",".join(parts) + "]}"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("parcels.geojson", text)
    return out.getvalue()


def heavy_parcel(center: tuple[float, float], vertices: int) -> bytes:
    """A valid parcel just under the vertex limit: legal, and the most work one request may ask for."""
    lon, lat = center
    ring = [
        [
            round(lon + 0.004 * math.cos(2 * math.pi * i / vertices), 8),
            round(lat + 0.003 * math.sin(2 * math.pi * i / vertices), 8),
        ]
        for i in range(vertices)
    ]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]}).encode()


def dense_body(vertices: int) -> bytes:
    ring = [[round(116.6 + i * 1e-7, 7), round(35.4 + (i % 2) * 1e-5, 5)] for i in range(vertices)]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]}).encode()


async def hostile_uploads(base: str, uploads: int, megabytes: int, folder: Path) -> dict[str, Any]:
    archive = hostile_zip(megabytes)
    body = dense_body(600_000 if megabytes >= 100 else 300_000)  # about 13 MB: under the 20 MB body limit
    statuses: dict[int | str, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:

        async def upload(n: int) -> None:
            try:
                if n % 2 == 0:
                    r = await client.post("/api/v1/reviews", files={"file": ("p.zip", archive)})
                else:
                    r = await client.post("/api/v1/reviews", content=body, headers={"content-type": "application/json"})
                status: int | str = r.status_code
            except httpx.TransportError as exc:  # refused before the body was all sent
                status = type(exc).__name__
            statuses[status] = statuses.get(status, 0) + 1

        prober = Prober(base, folder)
        await asyncio.sleep(0.3)  # a probe or two before the uploads
        started = time.perf_counter()
        await asyncio.gather(*(upload(n) for n in range(uploads)))
        wall = time.perf_counter() - started
        await asyncio.sleep(0.3)
        health = prober.finish()
    return {
        "statuses": statuses,
        "health": health,
        "zip_mb": len(archive) / 2**20,
        "body_mb": len(body) / 2**20,
        "wall_s": wall,
    }


async def heavy_legal(base: str, vertices: int, folder: Path, center: tuple[float, float]) -> dict[str, Any]:
    """One valid parcel just under the vertex limit: the most work a single legal request may ask for."""
    body = heavy_parcel(center, vertices)
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        prober = Prober(base, folder)
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        r = await client.post("/api/v1/reviews", content=body, headers={"content-type": "application/json"})
        wall = time.perf_counter() - started
        await asyncio.sleep(0.3)
        health = prober.finish()
    return {"status": r.status_code, "wall_s": wall, "health": health, "vertices": vertices}


def slow_clients(base: str, count: int, header_timeout: float) -> dict[str, Any]:
    port = int(base.rsplit(":", 1)[1])
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(s)
    started = time.monotonic()
    open_ = set(range(count))
    closed_after: list[float] = []
    health: list[float] = []
    while open_ and time.monotonic() - started < header_timeout * 4 + 5:
        for i in list(open_):
            try:
                sockets[i].sendall(b"X-Slow: 1\r\n")
            except OSError:
                open_.discard(i)
                closed_after.append(time.monotonic() - started)
        t = time.perf_counter()
        httpx.get(base + "/healthz", timeout=10)
        health.append(time.perf_counter() - t)
        time.sleep(0.2)
    for s in sockets:
        s.close()
    return {"closed": len(closed_after), "count": count, "closed_after": closed_after, "health": health}


def demo_blueprint(folder: Path) -> Path:
    target = folder / "demo"
    lantu = Path(sys.executable).parent / "lantu"
    subprocess.run([str(lantu), "demo-blueprint", str(target), "--force"], check=True, capture_output=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a few seconds: for CI")
    parser.add_argument("--blueprint", type=Path, help="blueprint directory (default: build the demo one)")
    parser.add_argument("--parcels", type=Path, help="GeoJSON of parcels to review (default: the blueprint's)")
    parser.add_argument("--reviews", type=int, help="concurrent small reviews (200; --small 30)")
    parser.add_argument("--uploads", type=int, help="concurrent hostile uploads (4; --small 2)")
    parser.add_argument("--upload-mb", type=int, help="what the hostile zip expands to, MB (500; --small 80)")
    parser.add_argument("--slow", type=int, help="slow clients (20; --small 5)")
    args = parser.parse_args()
    reviews = args.reviews or (30 if args.small else 200)
    uploads = args.uploads or (3 if args.small else 4)
    upload_mb = args.upload_mb or (80 if args.small else 500)
    slow = args.slow or (5 if args.small else 20)
    header_timeout = 1.0 if args.small else 5.0

    with tempfile.TemporaryDirectory(prefix="lantu-load-") as tmp:
        blueprint = args.blueprint or demo_blueprint(Path(tmp))
        source = args.parcels or blueprint / "parcels.geojson"
        parcels = json.loads(source.read_text(encoding="utf-8"))["features"]
        ring = parcels[0]["geometry"]["coordinates"][0]
        while isinstance(ring[0][0], list):  # a MultiPolygon: its first ring
            ring = ring[0]
        center = (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
        proc, base = start_server(blueprint, Path(tmp) / "load.db", header_timeout)
        sampler = RssSampler(proc.pid)
        sampler.start()
        try:
            idle_rss = psutil.Process(proc.pid).memory_info().rss
            small = asyncio.run(small_reviews(base, parcels, reviews, Path(tmp)))
            hostile = asyncio.run(hostile_uploads(base, uploads, upload_mb, Path(tmp)))
            heavy = asyncio.run(heavy_legal(base, 190_000 if not args.small else 50_000, Path(tmp), center))
            slowloris = slow_clients(base, slow, header_timeout)
            alive = httpx.get(base + "/healthz", timeout=10).status_code
        finally:
            sampler.running = False
            proc.terminate()
            proc.wait(timeout=30)

    lat = small["latencies"]
    fives = sum(n for s, n in small["statuses"].items() if s >= 500) + sum(
        n for s, n in hostile["statuses"].items() if isinstance(s, int) and s >= 500
    )
    health = hostile["health"] + slowloris["health"]  # under hostile uploads and slow clients
    print(f"server idle RSS {idle_rss / 2**20:.0f} MB, peak RSS {sampler.peak / 2**20:.0f} MB")
    print(
        f"{reviews} concurrent small reviews: statuses {dict(sorted(small['statuses'].items()))} "
        f"({small['retried_429']} retried after 429), p50 {percentile(lat, 0.5):.2f} s, "
        f"p99 {percentile(lat, 0.99):.2f} s, wall {small['wall_s']:.1f} s (status 0: connection closed, retried)"
    )
    during = small["health"]
    print(
        f"/healthz during the reviews: {len(during)} probes, p50 {percentile(during, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(during, 0.99) * 1000:.0f} ms, max {max(during, default=0) * 1000:.0f} ms"
    )
    print(
        f"{uploads} concurrent hostile uploads (zip {hostile['zip_mb']:.1f} MB expanding to {upload_mb} MB; "
        f"JSON bodies of {hostile['body_mb']:.0f} MB, too many vertices): "
        f"statuses {hostile['statuses']}, wall {hostile['wall_s']:.1f} s"
    )
    probes = hostile["health"]
    print(
        f"/healthz under load: {len(probes)} probes, p50 {percentile(probes, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(probes, 0.99) * 1000:.0f} ms, max {max(probes, default=0) * 1000:.0f} ms"
    )
    stall = max(heavy["health"], default=0)
    print(
        f"one valid parcel of {heavy['vertices']} vertices (legal, the most work per request): {heavy['status']} in "
        f"{heavy['wall_s']:.1f} s; /healthz meanwhile p50 {percentile(heavy['health'], 0.5) * 1000:.0f} ms, "
        f"max {stall * 1000:.0f} ms" + ("  (WARNING: the event loop stalled over 1 s)" if stall >= 1.0 else "")
    )
    closed = slowloris["closed_after"]
    print(
        f"{slow} slow clients: {slowloris['closed']} closed by the header timeout ({header_timeout:.0f} s) "
        f"after {statistics.mean(closed) if closed else float('nan'):.1f} s on average; "
        f"/healthz meanwhile max {max(slowloris['health'], default=0) * 1000:.0f} ms; afterwards {alive}"
    )
    print(f"5xx responses: {fives}")
    ok = fives == 0 and heavy["status"] < 500 and max(health, default=0) < 1.0 and sampler.peak < 2**30 and alive == 200
    ok = ok and slowloris["closed"] == slow
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
