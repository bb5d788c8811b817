"""Load for ``bench_http``: ``wrk`` (Debian's, installed when missing and run as root) or httpx.

wrk spends a few microseconds of CPU per request where an httpx client spends milliseconds, so on
a two-core machine it leaves the server its core; httpx threads in a separate process are the
fallback where wrk cannot be had. Both report requests, seconds, p50/p99/max latency (ms), the
statuses outside 2xx/3xx, and the client's CPU time.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

LIST_FILTERS = (
    "desk=zoom&status=open", "desk=o365&sla_state=breached", "status=new,open&severity=B",
    "sla_state=at_risk,breached", "desk=web&status=closed", "desk=nl-vendor&sla_state=running",
    "status=action_needed", "severity=P1&status=open",
)

LUA = """
local scenario, filters, cursors, last = "%(scenario)s", {%(filters)s}, {}, nil
math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%%x+)"), 16) or 0) %% 100000)
wrk.headers["Authorization"] = "Bearer %(token)s"
if scenario == "dashboard_304" then wrk.headers["If-None-Match"] = '%(etag)s' end
request = function()
  if scenario == "dashboard" or scenario == "dashboard_304" then
    return wrk.format("GET", "/api/dashboard")
  end
  last = math.random(#filters)
  -- 45 to 55 a page, and a parameter the API ignores: every URL is new, so every request runs
  -- its query instead of finding a kept body
  local path = "/api/tickets?" .. filters[last] .. "&limit=" .. math.random(45, 55)
    .. "&n=" .. math.random(1, 1000000000)
  if cursors[last] then path = path .. "&after=" .. cursors[last]; cursors[last] = nil end
  return wrk.format("GET", path)
end
if scenario == "list_next_pages" then
  response = function(status, headers, body)
    if status == 200 and last then cursors[last] = body:match('"next":"([^"]+)"') end
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%%d,"duration_us":%%d,"errors":%%d,"p50_us":%%d,"p99_us":%%d,'
    .. '"max_us":%%d}\\n', summary.requests, summary.duration,
    e.status + e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99), latency.max))
end
"""


def wrk() -> str | None:
    """wrk's path, installing Debian's package when it is missing and this runs as root."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "wrk"], env=env,
                       capture_output=True, timeout=600, check=False)
        found = shutil.which("wrk")
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def with_wrk(binary: str, url: str, token: str, etag: str, scenario: str, seconds: float,
             connections: int) -> dict[str, Any]:
    filters = ", ".join(f'"{f}"' for f in LIST_FILTERS)
    script = LUA % {"scenario": scenario, "filters": filters, "token": token, "etag": etag}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    cpu = _children_cpu()
    try:  # one connection per wrk thread, so that a response meets its own request's state
        out = subprocess.run(
            [binary, f"-t{connections}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
             "-s", file.name, url], capture_output=True, text=True, timeout=seconds + 60, check=True,
        ).stdout
    finally:
        Path(file.name).unlink()
    figures = json.loads(out.strip().splitlines()[-1])
    return {"requests": figures["requests"], "seconds": figures["duration_us"] / 1e6,
            "p50_ms": figures["p50_us"] / 1000, "p99_ms": figures["p99_us"] / 1000,
            "max_ms": figures["max_us"] / 1000, "errors": figures["errors"],
            "client_cpu_s": _children_cpu() - cpu}


def _httpx_worker(url: str, token: str, etag: str, scenario: str, seconds: float, seed: int,
                  out: list[tuple[float, int]]) -> None:
    import httpx

    rng = random.Random(seed)
    cursors: dict[str, str] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            query, extra = "", {}
            if scenario == "dashboard":
                path = "/api/dashboard"
            elif scenario == "dashboard_304":
                path, extra = "/api/dashboard", {"If-None-Match": etag}
            else:
                query = rng.choice(LIST_FILTERS)
                after = cursors.pop(query, None)
                path = (f"/api/tickets?{query}&limit={rng.randrange(45, 56)}&n={rng.getrandbits(40)}"
                        + (f"&after={after}" if after else ""))
            began = time.perf_counter()
            response = client.get(path, headers=extra)
            out.append((time.perf_counter() - began, response.status_code))
            if scenario == "list_next_pages" and response.status_code == 200 and response.json()["next"]:
                cursors[query] = response.json()["next"]


def _httpx_drive(url: str, token: str, etag: str, scenario: str, seconds: float, threads: int,
                 queue: Any) -> None:
    results: list[list[tuple[float, int]]] = [[] for _ in range(threads)]
    workers = [threading.Thread(target=_httpx_worker,
                                args=(url, token, etag, scenario, seconds, i, results[i]))
               for i in range(threads)]
    began, cpu = time.perf_counter(), time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(([r for part in results for r in part], time.perf_counter() - began,
               time.process_time() - cpu))


def with_httpx(url: str, token: str, etag: str, scenario: str, seconds: float, threads: int
               ) -> dict[str, Any]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    client = context.Process(target=_httpx_drive,
                             args=(url, token, etag, scenario, seconds, threads, queue))
    client.start()
    samples, elapsed, client_cpu = queue.get(timeout=seconds + 120)
    client.join(30)
    latencies = sorted(s[0] * 1000 for s in samples)
    return {"requests": len(samples), "seconds": elapsed, "p50_ms": latencies[len(latencies) // 2],
            "p99_ms": latencies[max(0, round(0.99 * len(latencies)) - 1)], "max_ms": latencies[-1],
            "errors": sum(1 for s in samples if s[1] >= 400), "client_cpu_s": client_cpu}
