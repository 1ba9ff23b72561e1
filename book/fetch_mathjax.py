"""Put MathJax 3 (npm's ``mathjax`` package, its ``es5`` build) into ``book/_static/mathjax`` for offline pages.

Sphinx's default loads MathJax from a CDN, which leaves raw ``\\(`` on a machine without network.  This
script downloads the pinned tarball from the npm registry once (or takes ``RK_MATHJAX_TGZ``, a local copy),
checks its sha512 against the registry's integrity string below, and unpacks ``package/es5/``.  It does
nothing when that version is already unpacked.
"""

import base64
import hashlib
import io
import os
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

VERSION = "3.2.2"
URL = f"https://registry.npmjs.org/mathjax/-/mathjax-{VERSION}.tgz"
# npm's "dist.integrity" of mathjax 3.2.2
INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
DEST = Path(__file__).resolve().parent / "_static" / "mathjax"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reweightkit" / f"mathjax-{VERSION}.tgz"


def _tarball() -> bytes:
    local = os.environ.get("RK_MATHJAX_TGZ")
    if local:
        return Path(local).read_bytes()
    if CACHE.exists():
        return CACHE.read_bytes()
    with urllib.request.urlopen(URL, timeout=120) as r:
        data = r.read()
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_bytes(data)
    return data


def main() -> int:
    stamp = DEST / ".version"
    if stamp.exists() and stamp.read_text().strip() == VERSION:
        return 0
    data = _tarball()
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        CACHE.unlink(missing_ok=True)
        print(f"mathjax-{VERSION}.tgz: sha512 {digest} is not npm's {INTEGRITY}", file=sys.stderr)
        return 1
    if DEST.exists():
        shutil.rmtree(DEST)
    prefix = "package/es5/"
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix) or ".." in member.name:
                continue
            target = DEST / member.name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
    stamp.write_text(VERSION + "\n")
    print(f"MathJax {VERSION} unpacked into {DEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
