"""Screenshots of the built site in headless Chromium: docs/screenshots/*.png.

1. builds the site with ``mkdocs build --strict`` into a temporary folder;
2. serves it on 127.0.0.1 (a free port, this process only, stopped at the end);
3. takes a PNG of each page in ``PAGES`` with headless Chromium (Debian's ``chromium``:
   ``apt-get install -y chromium``), 1280 pixels wide.

Mermaid diagrams are drawn in the reader's browser by mermaid.js, which the site loads from
a CDN. Offline, the script can serve a local copy instead: with ``npm`` available it takes
``mermaid@11`` from the npm registry once (``npm pack``, cached in ``build/mermaid``) and
adds it to the two screenshot copies of the pages; ``--no-mermaid`` skips this (the
diagrams then show as their source text).

Usage: ``python docs/screenshots.py [--out docs/screenshots] [--no-mermaid]``
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGES = {
    "home.png": ("", 2000),
    "ae1d.png": ("api/modules/resnet/AE1d/", 4200),
    "cli.png": ("guide/cli/", 2000),
}
MERMAID_CACHE = ROOT / "build" / "mermaid"
MERMAID_JS = "assets/javascripts/mermaid.min.js"


def build(site: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT,
        env=env,
        check=True,
    )


def mermaid_js() -> Path | None:
    """A local mermaid.min.js (from the npm registry, cached), or None when unavailable."""
    target = MERMAID_CACHE / "mermaid.min.js"
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: diagrams will show as text", file=sys.stderr)
        return None
    MERMAID_CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "pack", "mermaid@11", "--silent"],
        cwd=MERMAID_CACHE,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"npm pack mermaid failed, diagrams show as text:\n{done.stderr}", file=sys.stderr)
        return None
    archive = MERMAID_CACHE / done.stdout.strip().splitlines()[-1]
    with tarfile.open(archive) as tar:
        member = tar.extractfile("package/dist/mermaid.min.js")
        if member is None:
            return None
        target.write_bytes(member.read())
    archive.unlink()
    return target


def add_mermaid(site: Path, script: Path, pages: list[str]) -> None:
    """Serve mermaid locally on ``pages``: Material then does not fetch it from the CDN."""
    shutil.copyfile(script, site / MERMAID_JS)
    for page in pages:
        html = site / page / "index.html"
        text = html.read_text(encoding="utf-8")
        tag = f'<script src="/{MERMAID_JS}"></script>'
        html.write_text(text.replace("</head>", tag + "</head>", 1), encoding="utf-8")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (base signature)
        pass


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("Chromium not found: apt-get update && apt-get install -y chromium")


def shoot(browser: str, url: str, png: Path, height: int, profile: Path) -> None:
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
        "--virtual-time-budget=8000", f"--window-size=1280,{height}", f"--screenshot={png}",
        url,
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    if not png.is_file():
        raise SystemExit(f"Chromium wrote no screenshot for {url}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    parser.add_argument("--no-mermaid", action="store_true", help="do not fetch mermaid.js")
    args = parser.parse_args(argv)
    browser = chromium()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mdnc-site-") as tmp:
        site, profile = Path(tmp) / "site", Path(tmp) / "profile"
        build(site)
        script = None if args.no_mermaid else mermaid_js()
        if script is not None:
            add_mermaid(site, script, [path for path, _ in PAGES.values()])
        handler = functools.partial(_QuietHandler, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            for name, (path, height) in PAGES.items():
                png = args.out / name
                shoot(browser, f"http://127.0.0.1:{port}/{path}", png, height, profile)
                print(f"wrote {png}")
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
