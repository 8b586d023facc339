"""Uploads a file through tuspy, the official Python tus client (the protocol oracle).

Usage: python tus_upload.py ENDPOINT FILE [CHUNK_BYTES]
Prints one JSON line {"url": ..., "bytes": ...}; exits non-zero on failure.
"""
import json
import os
import sys

from tusclient import client

endpoint, path = sys.argv[1], sys.argv[2]
chunk = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 20
uploader = client.TusClient(endpoint).uploader(
    path,
    chunk_size=chunk,
    retries=5,
    retry_delay=0,
    metadata={"filename": os.path.basename(path)},
)
uploader.upload()
print(json.dumps({"url": uploader.url, "bytes": os.path.getsize(path)}))
