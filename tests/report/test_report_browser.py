"""The built site in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright for Python with
the system browser's executable. Index and one model page per task: no console errors, no request leaves the
site (offline), every image loads, sorting and filtering change the rows, every link resolves; screenshots are
written to build/test-artifacts/. Skips with one line naming the missing package."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from reportkit import row, write_report

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser")


def _chromium() -> str:
    exe = next((p for b in BROWSERS if (p := shutil.which(b))), None)
    if exe is None:
        pytest.skip("Chromium not found: install the Debian package 'chromium' (make install and make test do it when run as root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright for Python not installed: pip package 'playwright' (the test extra: make install)")
    return exe


def _import_real_weights(shared: Path) -> list[str]:
    """Real weights into the test's ZOO_HOME where the files are here: yolov3-tiny (shared data), MTCNN (the
    installed facenet-pytorch wheel ships them)."""
    from zoo.cli import main

    done = []
    if (shared / "yolov3-tiny.weights").is_file():
        main(["import", "yolov3-tiny", str(shared / "yolov3-tiny.weights")])
        done.append("yolov3-tiny")
    try:
        import facenet_pytorch
    except ImportError:
        return done
    main(["import", "mtcnn", str(Path(facenet_pytorch.__file__).parent / "data")])
    return done + ["mtcnn"]


def _one_per_task() -> list[str]:
    from zoo.plugin_manager import default_registry

    picks: dict[str, str] = {}
    for spec in default_registry().specs():
        picks.setdefault(spec.task, spec.name)
    picks["detection"] = "yolov3-tiny"
    return sorted(set(picks.values()) | {"resnet18", "resnet50", "vgg11", "mtcnn", "densenet264"})


class Page:
    """One browser page that records console errors and any request leaving file:// or 127.0.0.1."""

    def __init__(self, browser: object, site_root: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.root = site_root

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if url.startswith(self.root):
                r.continue_()  # type: ignore[attr-defined]
            else:
                self.outside.append(url)
                r.abort()  # type: ignore[attr-defined]

        self.page.route("**/*", route)

    def open(self, rel: str) -> None:
        self.page.goto(self.root + rel)
        self.page.wait_for_load_state("load")
        assert not self.errors, f"{rel}: console errors {self.errors}"
        assert not self.outside, f"{rel}: requests outside the site {self.outside}"
        broken = self.page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                                    ".map(i => i.getAttribute('src'))")
        assert broken == [], f"{rel}: images that did not load: {broken}"

    def images(self) -> int:
        return self.page.evaluate("document.images.length")

    def links(self) -> list[str]:
        return self.page.evaluate("Array.from(document.links).map(a => a.href)")

    def visible_rows(self, column: int) -> list[str]:
        return self.page.evaluate(
            "col => Array.from(document.querySelectorAll('#models tbody tr')).filter(r => !r.hidden)"
            ".map(r => r.cells[col].dataset.sort ?? r.cells[col].textContent.trim())", column)


def _check_links(site: Path, page: Page, rel: str) -> int:
    """Every link into the site names a file that exists (and its #fragment an id there); returns how many."""
    n = 0
    for href in page.links():
        url = urlparse(href)
        if url.scheme in ("http", "https") and url.hostname != "127.0.0.1":
            continue  # papers and licences on the web: not followed offline
        path = Path(unquote(url.path)) if url.scheme == "file" else site / unquote(url.path).lstrip("/")
        assert path.is_file(), f"{rel}: broken link {href}"
        if url.fragment:
            assert f'id="{url.fragment}"' in path.read_text(), f"{rel}: no #{url.fragment} in {path.name}"
        n += 1
    return n


def test_the_site_in_headless_chromium(tmp_path: Path, zoo_home: Path, shared_data_or_none: Path | None) -> None:
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    from zoo.report import build_site
    from zoo.report.serve import make_server

    drawn = _import_real_weights(shared_data_or_none) if shared_data_or_none else []
    bench = zoo_home / "bench"
    bench.mkdir()
    write_report(bench / "run1.json", [row("resnet18", 9.0), row("resnet18", 30.0, bs=8), row("resnet50", 25.0),
                                      row("vgg11", 40.0), row("resnet18", 5.0, backend="onnxruntime"),
                                      row("yolov3-tiny", 60.0, input_size="416x416"),
                                      row("yolov3-tiny", 150.0, bs=4, input_size="416x416")])
    (bench / "broken.json").write_text("{ torn")  # one warning, the rest still built
    names = _one_per_task()
    photos = None
    if shared_data_or_none:  # two photos keep it quick: Grace Hopper (a tie for YOLO), the astronaut (a face)
        photos = tmp_path / "photos"
        photos.mkdir()
        for name in ("grace_hopper.jpg", "astronaut.png"):
            shutil.copy(shared_data_or_none / "images" / name, photos / name)
    site = tmp_path / "site"
    summary = build_site(site, names, examples_dir=photos)
    assert len(summary.warnings) == 1 and "broken.json" in summary.warnings[0]
    assert set(drawn) <= set(summary.examples)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        page = Page(browser, site.as_uri() + "/")
        page.open("index.html")
        p = page.page
        total = len(names)
        assert len(page.visible_rows(0)) == total and p.text_content("#shown") == f"{total} of {total} models"
        page.page.screenshot(path=str(ARTIFACTS / "report-index.png"))
        # filters: task, family, weights, text
        p.select_option("#f-task", "classification")
        tasks = page.visible_rows(2)
        assert 0 < len(tasks) < total and set(tasks) == {"classification"}
        p.select_option("#f-task", "")
        p.fill("#f-text", "yolo")
        assert page.visible_rows(0) == ["yolov3-tiny"]
        p.fill("#f-text", "")
        p.select_option("#f-weights", "none")
        assert page.visible_rows(0) == ["densenet264"]  # the one without published weights
        p.select_option("#f-weights", "cached")
        assert sorted(page.visible_rows(0)) == sorted(drawn)
        p.select_option("#f-weights", "")
        # sorting: params ascending, then descending (numbers, not text)
        p.click("#models th:nth-child(4)")
        asc = [float(v) for v in page.visible_rows(3) if v]
        assert asc == sorted(asc) and len(asc) > 2
        p.click("#models th:nth-child(4)")
        desc = [float(v) for v in page.visible_rows(3) if v]
        assert desc == sorted(desc, reverse=True)
        p.click("#models th:nth-child(9)")  # best latency here: the benchmarked ones first, fastest first
        assert [v for v in page.visible_rows(8) if v] == ["5.0", "25.0", "40.0", "60.0"]
        checked = _check_links(site, page, "index.html")
        p.click("text=yolov3-tiny")  # a link followed in the browser
        assert p.title().startswith("yolov3-tiny")

        for rel in ["charts.html", "history.html"] + [f"models/{n}.html" for n in names]:
            page.open(rel)
            checked += _check_links(site, page, rel)
        page.open("charts.html")
        assert page.images() >= 1  # classification: accuracy vs latency with the Pareto front
        page.open("models/resnet18.html")
        assert page.images() == 2  # latency vs batch and the speed-up chart (weights not cached: no example)
        assert "No picture" in p.text_content("body")
        page.open("models/yolov3-tiny.html")
        if "yolov3-tiny" in drawn:
            assert page.images() == 2 + 1  # the two photos drawn by the model, the latency plot
            assert "grace_hopper.jpg: 2 detections" in p.text_content("body")
        page.page.screenshot(path=str(ARTIFACTS / "report-yolov3-tiny.png"), full_page=True)
        assert checked > total

        server = make_server(site, 0)  # --serve: the same site over HTTP on 127.0.0.1
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            served = Page(browser, f"http://127.0.0.1:{server.server_address[1]}/")
            served.open("index.html")
            assert len(served.visible_rows(0)) == total
            served.open("models/yolov3-tiny.html")
        finally:
            server.shutdown()
            server.server_close()
        browser.close()
    assert (ARTIFACTS / "report-index.png").stat().st_size > 10_000
