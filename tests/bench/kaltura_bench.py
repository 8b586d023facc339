#!/usr/bin/env python3
"""Kaltura-path throughput benchmark (loopback only, Python stdlib).

Uploads SIZE bytes through `uploadToken.upload` in CHUNK-sized multipart requests,
either sequentially (Python-client style: resume=false, then resumeAt=-1 appends) or
in parallel (Kaltura TypeScript browser pattern: chunk 0 alone, then PARALLEL
connections with resumeAt offsets, the last chunk marked final). Prints one JSON line.

Usage: kaltura_bench.py --url http://127.0.0.1:PORT --partner ID --secret ADMIN_SECRET
       [--size 1GiB] [--chunk 8MiB] [--parallel 6] [--verify]
"""
import argparse
import hashlib
import http.client
import ipaddress
import json
import os
import re
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def size(text):
    m = re.fullmatch(r"(\d+)\s*(KiB|MiB|GiB|)", text.strip())
    if not m:
        raise SystemExit(f"bad size {text}")
    return int(m.group(1)) * {"": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[m.group(2)]


class Api:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        for info in socket.getaddrinfo(u.hostname, None):
            if not ipaddress.ip_address(info[4][0]).is_loopback:
                raise SystemExit("refusing a non-loopback target")
        self.host, self.port = u.hostname, u.port
        self.local = threading.local()

    def conn(self):
        if getattr(self.local, "c", None) is None:
            self.local.c = http.client.HTTPConnection(self.host, self.port, timeout=120)
        return self.local.c

    def call(self, path, params):
        body = json.dumps(params).encode()
        c = self.conn()
        c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        return json.loads(c.getresponse().read())

    def upload(self, params, index, data, length):
        b = "benchboundary7MA4YWxkTrZu0gW"
        head = (f"--{b}\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{json.dumps(params)}\r\n"
                f"--{b}\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"chunk.bin\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{b}--\r\n".encode()
        c = self.conn()
        c.putrequest("POST", "/api_v3/service/uploadtoken/action/upload")
        c.putheader("Content-Type", f"multipart/form-data; boundary={b}")
        c.putheader("Content-Length", str(len(head) + length + len(tail)))
        c.endheaders()
        c.send(head)
        c.send(index.to_bytes(8, "little"))  # every chunk distinct, no copy of the block
        c.send(data[8:length])
        c.send(tail)
        out = json.loads(c.getresponse().read())
        if out.get("objectType") == "KalturaAPIException":
            raise RuntimeError(f"{out['code']}: {out['message']}")
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--partner", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--size", default="1GiB")
    ap.add_argument("--chunk", default="8MiB")
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--verify", action="store_true")
    a = ap.parse_args()
    total, chunk = size(a.size), size(a.chunk)
    api = Api(a.url)
    ks = api.call("/api_v3/service/session/action/start",
                  {"format": 1, "secret": a.secret, "partnerId": a.partner, "type": 2, "userId": "bench"})
    token = api.call("/api_v3/service/uploadtoken/action/add", {"format": 1, "ks": ks})["id"]
    block = memoryview(os.urandom(chunk))
    n = (total + chunk - 1) // chunk
    digest = hashlib.sha256()

    def length(i):
        return min(chunk, total - i * chunk)

    if a.verify:
        for i in range(n):
            digest.update(i.to_bytes(8, "little"))
            digest.update(block[8:length(i)])
    base = {"format": 1, "ks": ks, "uploadTokenId": token}
    t0 = time.monotonic()
    if a.parallel <= 1:
        for i in range(n):
            p = dict(base, resume=i > 0, finalChunk=i == n - 1, resumeAt=-1)
            last = api.upload(p, i, block, length(i))
    else:
        api.upload(dict(base, resume=False, finalChunk=n == 1, resumeAt=0), 0, block, length(0))

        def send(i):
            return api.upload(dict(base, resume=True, finalChunk=i == n - 1, resumeAt=i * chunk), i, block, length(i))

        with ThreadPoolExecutor(max_workers=a.parallel) as pool:
            results = list(pool.map(send, range(1, n)))
        last = results[-1] if results else None
    wall = time.monotonic() - t0
    got = api.call("/api_v3/service/uploadtoken/action/get", dict(base))
    ok = got.get("status") == 2 and int(got.get("uploadedFileSize", 0)) == total
    result = {"scenario": "kaltura_parallel" if a.parallel > 1 else "kaltura_sequential", "parallel": a.parallel,
              "bytes": total, "chunk": chunk, "requests": n, "wall_s": round(wall, 3),
              "MBps": round(total / wall / 1e6, 1), "complete": ok, "final_status": (last or {}).get("status")}
    if a.verify:
        c = http.client.HTTPConnection(api.host, api.port, timeout=120)
        c.request("GET", f"/files/{token}")
        r = c.getresponse()
        h = hashlib.sha256()
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            h.update(b)
        result["sha256_match"] = h.hexdigest() == digest.hexdigest()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
