"""S3 import throughput: a SIZE prefix from a real S3 API server (moto, on 127.0.0.1), fetched by
our import path (core.data.objstore.download, as a run's `import: {/data: s3://…}` does) vs s3fs's
own recursive `get` of the same prefix, in the same process and run. Prints MB/s of each and
ours/baseline (target >= 0.8).

The prefix is FILES objects of one shared random block each (generated once: cheap on a small box).
Usage: python bench/data_import.py [SIZE_MIB] [FILES] (default 1024 MiB in 64 files).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data import objstore  # noqa: E402
from core.data.settings import StorageSettings  # noqa: E402
from tests.fixtures.s3 import KEY_ID, SECRET_KEY, _answers  # noqa: E402
from tests.support import free_port  # noqa: E402


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    files = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="vessl-bench-data-"))
    try:
        deadline = time.monotonic() + 60
        while not _answers(endpoint):
            if time.monotonic() > deadline:
                raise SystemExit("the moto server did not start")
            time.sleep(0.2)
        import os

        import s3fs

        fs = s3fs.S3FileSystem(key=KEY_ID, secret=SECRET_KEY, client_kwargs={"endpoint_url": endpoint},
                               skip_instance_cache=True)
        fs.mkdir("bench")
        block = os.urandom(size_mib * (1 << 20) // files)
        start = time.perf_counter()
        for n in range(files):
            fs.pipe_file(f"bench/prefix/part-{n:04d}.bin", block)
        total = len(block) * files
        print(f"uploaded {files} files, {total / 2**20:.0f} MiB in {time.perf_counter() - start:.1f}s")

        settings = StorageSettings.model_validate({"s3": {"endpoint_url": endpoint, "access_key_id": KEY_ID,
                                                          "secret_access_key": SECRET_KEY}})

        def ours() -> float:
            dest = work / "ours"
            t = time.perf_counter()
            objstore.download("s3://bench/prefix", dest, settings, lambda line: None)
            took = time.perf_counter() - t
            shutil.rmtree(dest)
            return took

        def baseline() -> float:
            dest = work / "s3fs"
            base = s3fs.S3FileSystem(key=KEY_ID, secret=SECRET_KEY, client_kwargs={"endpoint_url": endpoint},
                                     skip_instance_cache=True)
            t = time.perf_counter()
            base.get("bench/prefix/", str(dest) + "/", recursive=True)
            took = time.perf_counter() - t
            got = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
            assert got == total, f"s3fs got {got} of {total} bytes"
            shutil.rmtree(dest)
            return took

        rounds = [(baseline(), ours()) for _ in range(2)]  # interleaved: both see the same server state
        base_s, ours_s = min(r[0] for r in rounds), min(r[1] for r in rounds)
        mb = total / 1e6
        print(f"s3 import of {mb:.0f} MB in {files} files: ours {mb / ours_s:.0f} MB/s ({ours_s:.2f}s), "
              f"s3fs get {mb / base_s:.0f} MB/s ({base_s:.2f}s); ours/baseline = {base_s / ours_s:.2f}x (target >= 0.8)")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
