"""`zoo report` on the command line: the site it writes, bad input as one line with exit 2 (nothing of the user's
touched), a corrupt bench file as one warning, and --serve on 127.0.0.1 stopping cleanly on Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import zoo_in_process  # tests/clikit.py
from reportkit import gpu_env, row, write_report


def _one_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_report_builds_pages_charts_and_reads_history_and_bench_files(capsys: pytest.CaptureFixture[str],
                                                                      zoo_home: Path, tmp_path: Path) -> None:
    (zoo_home / "bench").mkdir()
    write_report(zoo_home / "bench" / "a.json", [row("resnet18", 9.0), row("resnet50", 25.0), row("vgg11", 40.0),
                                                row("resnet18", 4.5, backend="onnxruntime")])
    (zoo_home / "bench" / "torn.json").write_text('{"schema": "cvzoo.bench/1", "rows": ')
    gpu = write_report(tmp_path / "gpu.json", [row("resnet18", 0.9, device="cuda"), row("resnet50", 1.5, device="cuda")],
                       env=gpu_env())
    out = tmp_path / "site"
    code, _, err = zoo_in_process(capsys, "report", "--task", "classification", "--out", str(out), "--bench", str(gpu),
                                  "--no-examples")
    assert code == 0, err
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1 and "torn.json" in warnings[0]
    index = (out / "index.html").read_text()
    assert index.count('<tr data-task="classification"') == 23 and "torn.json" in index
    assert (out / "models" / "resnet18.html").is_file() and not (out / "models" / "yolov3.html").exists()
    page = (out / "models" / "resnet18.html").read_text()
    assert "NVIDIA H100 (cuda)" in page and "(here)" in page  # both machines' rows, this one marked
    charts = sorted(p.name for p in (out / "img" / "charts").iterdir())
    assert len(charts) == 2  # classification on this machine and on the GPU box
    assert all((out / "img" / "charts" / c).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for c in charts)
    assert (out / "img" / "resnet18" / "speedup-0.png").is_file()
    history = (out / "history.html").read_text()
    assert "gpu.json" in history and "a.json" in history
    for html in out.rglob("*.html"):  # offline: nothing fetched from elsewhere
        text = html.read_text()
        assert "<script src=\"http" not in text and "stylesheet\" href=\"http" not in text and "@import" not in text

    # building again over its own site works; a stale page of ours goes, a file of the user's stays
    (out / "mine.txt").write_text("keep")
    code, _, err = zoo_in_process(capsys, "report", "resnet18", "--out", str(out), "--no-examples")
    assert code == 0, err
    assert not (out / "models" / "resnet50.html").exists() and (out / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("args, text", [
    (["report", "resnet81", "--out", "{out}"], "resnet18"),  # did-you-mean
    (["report", "--task", "detections", "--out", "{out}"], "unknown task 'detections'"),
    (["report", "--family", "yoloo", "--out", "{out}"], "unknown family"),
    (["report", "zzz*", "--out", "{out}"], "no model matches 'zzz*'"),
    (["report", "--out", "{foreign}"], "did not write"),
    (["report", "--out", "{file}"], "is a file"),
    (["report", "resnet18", "--out", "{out}", "--examples", "{file}"], "not a folder"),
    (["report", "resnet18", "--out", "{out}", "--port", "70000"], "--port"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str],
                                          text: str) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "paper.tex").write_text("mine")
    (tmp_path / "file").write_text("x")
    fill = {"out": str(tmp_path / "out"), "foreign": str(foreign), "file": str(tmp_path / "file")}
    code, _, err = zoo_in_process(capsys, *[a.format(**fill) for a in args])
    assert code == 2 and text in _one_error(err)
    assert (foreign / "paper.tex").read_text() == "mine" and sorted(p.name for p in foreign.iterdir()) == ["paper.tex"]
    assert (tmp_path / "file").read_text() == "x"


def test_unwritable_out_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import zoo.report.outdir as outdir

    monkeypatch.setattr(outdir.os, "access", lambda path, mode: False)  # root may write anywhere: say it cannot
    code, _, err = zoo_in_process(capsys, "report", "resnet18", "--out", str(tmp_path / "site"), "--no-examples")
    assert code == 2 and "the folder is not writable" in _one_error(err)


def test_out_under_a_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = zoo_in_process(capsys, "report", "resnet18", "--out", str(tmp_path / "file" / "site"))
    assert code == 2 and "cannot create the folder" in _one_error(err)


def test_serve_prints_the_url_and_ctrl_c_stops_cleanly(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import urllib.request
    from http.server import ThreadingHTTPServer

    seen: dict[str, object] = {}

    def serve_then_interrupt(self: ThreadingHTTPServer, poll_interval: float = 0.5) -> None:
        """Answer one real request, then Ctrl-C (what a user's Ctrl-C raises inside serve_forever)."""
        host, port = self.server_address[:2]
        seen["host"], seen["server"] = host, self
        answer = threading.Thread(target=self.handle_request)
        answer.start()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10) as r:
            seen["index"] = r.read().decode()
        answer.join(10)
        raise KeyboardInterrupt

    monkeypatch.setattr(ThreadingHTTPServer, "serve_forever", serve_then_interrupt)
    code, _, err = zoo_in_process(capsys, "report", "resnet18", "--out", str(tmp_path / "s"), "--no-examples",
                                  "--serve", "--port", "0")
    assert code == 0, err
    assert seen["host"] == "127.0.0.1" and "resnet18" in str(seen["index"])
    url = next(ln for ln in err.splitlines() if "serving" in ln)
    assert "http://127.0.0.1:" in url and url.rstrip().endswith("/index.html (Ctrl-C stops)")
    assert err.strip().endswith("stopped") and "Traceback" not in err
    assert seen["server"].socket.fileno() == -1  # type: ignore[attr-defined]  # closed on the way out


def test_manifest_lists_what_it_wrote(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "site"
    code, _, err = zoo_in_process(capsys, "report", "yolov3-tiny", "--out", str(out), "--no-examples")
    assert code == 0, err
    listed = set(json.loads((out / ".zoo-report.json").read_text())["files"])
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert listed == on_disk


def test_a_build_stopped_half_way_leaves_a_folder_the_next_build_writes_into(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zoo.report import html

    real = html.model_body
    calls = []

    def stop_on_second(*args: object, **kw: object) -> str:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the model pages
        return real(*args, **kw)

    monkeypatch.setattr(html, "model_body", stop_on_second)
    out = tmp_path / "site"
    code, _, err = zoo_in_process(capsys, "report", "resnet18", "resnet50", "--out", str(out), "--no-examples")
    assert code == 130 and "interrupted" in err
    listed = set(json.loads((out / ".zoo-report.json").read_text())["files"])
    assert "models/resnet18.html" in listed and "index.html" not in listed
    monkeypatch.setattr(html, "model_body", real)
    code, _, err = zoo_in_process(capsys, "report", "resnet18", "resnet50", "--out", str(out), "--no-examples")
    assert code == 0, err
    assert (out / "index.html").is_file() and (out / "models" / "resnet50.html").is_file()
