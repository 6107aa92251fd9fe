"""Darknet cfg parser: the bundled cfgs, Darknet's reading rules, and errors that name the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo.errors import SpecError
from zoo_yolo.cfg import Section, format_cfg, parse_cfg, read_cfg
from zoo_yolo.darknet import Darknet
from zoo_yolo.models import CFG_DIR

TINY_NET = """[net]
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
size=1
stride=1
pad=1
filters=18
activation=linear

[yolo]
mask=0,1
anchors=10,14, 23,27, 37,58
classes=4
num=3
"""


def line_of(error: SpecError) -> int:
    m = re.search(r":(\d+):", str(error))
    assert m, f"error does not name a line: {error}"
    return int(m.group(1))


# ---------------------------------------------------------------- the bundled cfgs

@pytest.mark.parametrize("name, sections, convs, yolos, size", [
    ("yolov3.cfg", 108, 75, 3, 416), ("yolov3-spp.cfg", 115, 76, 3, 608), ("yolov3-tiny.cfg", 25, 13, 2, 416)])
def test_bundled_cfgs_parse_into_darknet_layer_counts(name: str, sections: int, convs: int, yolos: int, size: int) -> None:
    parsed = read_cfg(CFG_DIR / name)
    assert len(parsed) == sections
    assert parsed[0].type == "net" and parsed[0].get_int("width") == size
    assert sum(s.type == "convolutional" for s in parsed) == convs
    yolo = [s for s in parsed if s.type == "yolo"]
    assert len(yolo) == yolos
    assert all(s.get_int("classes") == 80 for s in yolo)


def test_yolov3_masks_and_anchors_are_the_official_ones() -> None:
    yolo = [s for s in read_cfg(CFG_DIR / "yolov3.cfg") if s.type == "yolo"]
    assert [s.get_ints("mask") for s in yolo] == [[6, 7, 8], [3, 4, 5], [0, 1, 2]]
    assert yolo[0].get_floats("anchors") == [10, 13, 16, 30, 33, 23, 30, 61, 62, 45, 59, 119, 116, 90, 156, 198, 373, 326]
    routes = [s.get_ints("layers") for s in read_cfg(CFG_DIR / "yolov3.cfg") if s.type == "route"]
    assert routes == [[-4], [-1, 61], [-4], [-1, 36]]


def test_bundled_tiny_cfg_is_the_shared_file(shared_data: Path) -> None:
    assert (CFG_DIR / "yolov3-tiny.cfg").read_bytes() == (shared_data / "yolov3-tiny.cfg").read_bytes()


# ---------------------------------------------------------------- Darknet's reading rules

def test_whitespace_is_removed_everywhere_and_comments_skipped() -> None:
    text = "# comment\n[net]\n  width = 4 16\n; other comment\n\theight\t=\t32\n[ conv ]\nfilters = 8\n"
    net, conv = parse_cfg(text)
    assert net.options == {"width": "416", "height": "32"}
    assert net.lines == {"width": 3, "height": 5}
    assert conv.type == "convolutional" and conv.line == 6  # Darknet's [conv] alias


def test_comment_lines_count_for_line_numbers() -> None:
    text = "[net]\n# a\n# b\n\nwidth=416\nbroken line\n"
    with pytest.raises(SpecError) as e:
        parse_cfg(text, "my.cfg")
    assert line_of(e.value) == 6 and "my.cfg" in str(e.value) and "broken" in str(e.value)


@pytest.mark.parametrize("text, line, words", [
    ("[net]\nwidth=416\nfilters 16\n", 3, "key=value"),
    ("width=416\n[net]\n", 1, "before the first"),
    ("[net]\n[convolutional\nfilters=1\n", 2, "section header"),
    ("[net]\n[]\n", 2, "section header"),
    ("[net]\nwidth=416\nwidth=320\n", 3, "repeated"),
    ("[net]\n=3\n", 2, "without a name"),
    ("[net]\nwidth=\n", 2, "no value"),
    ("\n\n[convolutional]\nfilters=1\n", 3, "first section must be [net]"),
])
def test_malformed_text_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_cfg(text, "bad.cfg")
    assert line_of(e.value) == line
    assert words in str(e.value)


def test_empty_cfg_is_an_error() -> None:
    with pytest.raises(SpecError, match="no sections"):
        parse_cfg("# only a comment\n\n")


@pytest.mark.parametrize("old, new, line, words", [
    ("filters=8", "filters=eight", 8, "not an integer"),
    ("activation=leaky", "activation=gelu", 12, "not supported"),
    ("mask=0,1", "mask=0,7", 26, "outside"),
    ("[maxpool]", "[softmax]", 14, "not supported"),
    ("filters=18", "filters=20", 25, "input channels"),
    ("anchors=10,14, 23,27, 37,58", "anchors=10,14, 23,27, 37", 27, "pairs"),
])
def test_bad_layer_options_name_the_line(old: str, new: str, line: int, words: str) -> None:
    text = TINY_NET.replace(old, new)
    assert text != TINY_NET
    with pytest.raises(SpecError) as e:
        Darknet(parse_cfg(text, "tiny.cfg"))
    assert line_of(e.value) == line, str(e.value)
    assert words in str(e.value)


def test_route_to_a_later_layer_names_the_line() -> None:
    text = TINY_NET.replace("[yolo]", "[route]\nlayers=-1, 7\n\n[yolo]")
    with pytest.raises(SpecError) as e:
        Darknet(parse_cfg(text))
    assert line_of(e.value) == 26 and "only layers 0..2" in str(e.value)


def test_shortcut_of_different_shapes_is_refused() -> None:
    text = TINY_NET.replace("[convolutional]\nsize=1", "[shortcut]\nfrom=-2\nactivation=linear\n\n[convolutional]\nsize=1")
    with pytest.raises(SpecError) as e:
        Darknet(parse_cfg(text))
    assert "only equal shapes" in str(e.value) and line_of(e.value) == 19


def test_net_without_yolo_layer_is_refused() -> None:
    text = TINY_NET.split("[yolo]")[0].replace("filters=18", "filters=4")
    with pytest.raises(SpecError, match="no \\[yolo\\] layer"):
        Darknet(parse_cfg(text))


def test_unreadable_cfg_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        read_cfg(tmp_path / "missing.cfg")
    (tmp_path / "binary.cfg").write_bytes(b"\xff\xfe\x00[net]")
    with pytest.raises(SpecError, match="cannot read"):
        read_cfg(tmp_path / "binary.cfg")


# ---------------------------------------------------------------- properties

NAMES = st.sampled_from(["net", "convolutional", "maxpool", "route", "shortcut", "upsample", "yolo", "custom"])
KEYS = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
VALUES = st.text("abcdefghijklmnopqrstuvwxyz0123456789.,-_", min_size=1, max_size=20).filter(lambda v: "=" not in v)
PADS = st.sampled_from(["", " ", "\t", "  ", " \t "])


@st.composite
def cfg_sections(draw: st.DrawFn) -> list[tuple[str, dict[str, str]]]:
    n = draw(st.integers(1, 6))
    out = [("net", draw(st.dictionaries(KEYS, VALUES, max_size=5)))]
    for _ in range(n - 1):
        out.append((draw(NAMES.filter(lambda s: s != "net")), draw(st.dictionaries(KEYS, VALUES, max_size=6))))
    return out


def _render(draw: st.DrawFn, sections: list[tuple[str, dict[str, str]]]) -> str:
    lines: list[str] = []
    for name, opts in sections:
        lines += [draw(PADS) + "# a comment" if draw(st.booleans()) else "", f"{draw(PADS)}[{name}]{draw(PADS)}"]
        for k, v in opts.items():
            cut = draw(st.integers(0, len(v)))  # whitespace inside values disappears too, as in Darknet
            lines.append(f"{draw(PADS)}{k}{draw(PADS)}={draw(PADS)}{v[:cut]}{draw(PADS)}{v[cut:]}{draw(PADS)}")
    return "\n".join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), sections=cfg_sections())
def test_parse_recovers_sections_whatever_the_whitespace(data: st.DataObject, sections: list) -> None:
    text = _render(data.draw, sections)
    parsed = parse_cfg(text)
    assert [(s.type, s.options) for s in parsed] == [(n, o) for n, o in sections]
    again = parse_cfg(format_cfg(parsed))
    assert [(s.type, s.options) for s in again] == [(s.type, s.options) for s in parsed]


@settings(max_examples=60, deadline=None)
@given(data=st.data(), sections=cfg_sections(), junk=st.text("abcdefghij ()!?", min_size=1, max_size=10))
def test_a_junk_line_anywhere_after_the_header_is_reported_at_its_line(data: st.DataObject, sections: list, junk: str) -> None:
    if not junk.strip():
        junk = "x" + junk
    lines = _render(data.draw, sections).split("\n")
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("[net]"))
    at = data.draw(st.integers(header + 1, len(lines)))
    lines.insert(at, junk)
    with pytest.raises(SpecError) as e:
        parse_cfg("\n".join(lines))
    assert line_of(e.value) == at + 1


def test_section_helpers_report_missing_and_bad_values() -> None:
    s = Section("convolutional", 7, "x.cfg", {"filters": "a"}, {"filters": 9})
    with pytest.raises(SpecError, match=r"x.cfg:7: \[convolutional\] needs 'size='"):
        s.get_int("size")
    with pytest.raises(SpecError, match=r"x.cfg:9:"):
        s.get_int("filters")
    assert s.get_int("size", 3) == 3 and s.get_float("scale", 1.5) == 1.5
