"""Spec schema checks, registry filters, names, did-you-mean and duplicates."""

from __future__ import annotations

import pytest

from zoo.errors import DuplicateModelError, SpecError, UnknownModelError
from zoo.plugin_manager import default_registry
from zoo.registry import Registry, natural_key
from zoo.spec import spec_from_dict

ROW = {"name": "toy", "family": "test", "task": "classification", "builder": "tests.toy:build"}


def test_valid_row_builds_spec() -> None:
    spec = spec_from_dict({**ROW, "input": {"size": 64, "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]},
                           "weights": [{"tag": "a", "repo_id": "x/y", "filename": "m.safetensors"}]}, "t.yaml")
    assert spec.input.size == (64, 64) and spec.input.mean == (0.5, 0.5, 0.5)
    assert spec.pretrained and spec.default_weights().tag == "a"


@pytest.mark.parametrize("row, field", [
    ({**ROW, "input": {"size": [1, 2, 3]}}, "input.size"),
    ({**ROW, "input": {"colour": "RGB"}}, "input.colour"),
    ({**ROW, "weights": [{"tag": "a", "sha256": "abc"}]}, "weights[0].sha256"),
    ({**ROW, "weights": [{"tag": "a", "repo_id": "x/y"}]}, "weights[0].filename"),
    ({**ROW, "weights": [{"tag": "a", "repo_type": "bucket"}]}, "weights[0].repo_type"),
    ({**ROW, "weights": [{"tag": "a"}, {"tag": "a"}]}, "weights"),
    ({**ROW, "num_params": "many"}, "num_params"),
    ({**ROW, "Name": "x"}, "Name"),
    ({**ROW, "name": "Toy"}, "name"),
    ({**ROW, "builder": "no_colon"}, "builder"),
    ({k: v for k, v in ROW.items() if k != "task"}, "task"),
])
def test_bad_rows_name_file_model_and_field(row: dict, field: str) -> None:
    with pytest.raises(SpecError) as err:
        spec_from_dict(row, "my.yaml")
    msg = str(err.value)
    assert msg.startswith("my.yaml: model '") and f"field '{field}'" in msg


def test_a_task_no_one_registered_is_refused_on_registration() -> None:
    spec = spec_from_dict({**ROW, "task": "dancing"}, "my.yaml")  # rows parse without the task catalogue
    with pytest.raises(SpecError) as err:
        Registry().add(spec)
    msg = str(err.value)
    assert msg.startswith("my.yaml: model 'toy'") and "field 'task'" in msg and "classification" in msg


def test_every_registered_spec_has_the_metadata_its_task_needs() -> None:
    """Like torchvision's test_schema_meta_validation, over every spec the plugins registered."""
    from zoo.plugin_manager import plugin_report

    registry = default_registry()
    assert [(i.name, i.errors) for i in plugin_report() if not i.ok] == []  # e.g. a bundled YAML that fails to parse
    specs = registry.specs()
    assert specs
    for s in specs:
        assert registry.task(s.task).name == s.task, s.name
        assert s.description and s.license and s.paper and s.paper.title and s.paper.year, s.name
        assert s.num_params and s.num_params > 0 and s.gmacs and s.gmacs > 0, s.name
        if s.task not in ("generation", "image-translation"):  # unconditional generators and image translators
            # have no label set
            assert s.categories, s.name
        if s.pretrained:
            # published metrics, or a metrics_source saying why there are none (e.g. image translators)
            assert s.metrics_source, f"{s.name}: published weights need published metrics (or why not)"
            for w in s.weights:
                if w.obtainable:
                    assert w.revision and w.format, s.name
        elif not s.weights:
            assert s.notes, f"{s.name}: a model without weights must say so in notes"


def _registry(*names: str) -> Registry:
    reg = Registry()
    for n in names:
        reg.add(spec_from_dict({**ROW, "name": n, "weights": [{"tag": "t1", "repo_id": "a/b", "filename": "f"},
                                                                {"tag": "t2", "default": True}]}, "x.yaml"))
    return reg


def test_natural_sort_fnmatch_and_filters() -> None:
    reg = _registry("resnet101", "resnet18", "resnet50", "vgg16")
    assert reg.list() == ["resnet18", "resnet50", "resnet101", "vgg16"]
    assert reg.list("resnet*", exclude="*101") == ["resnet18", "resnet50"]
    assert reg.list(task="detection") == []
    assert reg.list(family="test", pretrained=True) == reg.list()
    assert sorted(["a10", "a9", "a100"], key=natural_key) == ["a9", "a10", "a100"]


def test_tags_and_did_you_mean() -> None:
    reg = _registry("resnet50", "resnet18")
    assert reg.resolve("resnet50").weights.tag == "t2"  # default: true wins
    assert reg.resolve("resnet50.t1").weights.tag == "t1"
    with pytest.raises(UnknownModelError, match="resnet50"):
        reg.resolve("resnet5")
    with pytest.raises(UnknownModelError, match="t1, t2"):
        reg.resolve("resnet50.nope")
    with pytest.raises(UnknownModelError) as err:
        reg.resolve("restnet50")
    assert err.value.suggestions[0] == "resnet50" and err.value.exit_code == 2


def test_duplicate_names_raise_naming_both_sources() -> None:
    reg = _registry("toy")
    other = spec_from_dict({**ROW, "family": "other"}, "plugin other")
    with pytest.raises(DuplicateModelError, match=r"model 'toy' is claimed twice: by x\.yaml and by plugin other"):
        reg.add(other)


def test_each_kind_of_name_clash_has_its_own_error() -> None:
    import dataclasses

    from zoo.errors import (
        DuplicateConverterError,
        DuplicateLabelSetError,
        DuplicateNameError,
        DuplicateTaskError,
    )
    from zoo.labelsets import make_label_set

    reg = Registry()
    detection = reg.task("detection")
    with pytest.raises(DuplicateTaskError, match="task 'detection' is claimed twice: by zoo and by plugin p"):
        reg.add_task(dataclasses.replace(detection, source="plugin p"))
    reg.add_label_set(make_label_set("toys", ["a"], source="plugin p"))
    with pytest.raises(DuplicateLabelSetError, match="label set 'toys' is claimed twice: by plugin p and by plugin q"):
        reg.add_label_set(make_label_set("toys", ["b"], source="plugin q"))
    reg.add_converter("toyfmt", "m:f", "p")
    with pytest.raises(DuplicateConverterError, match="converter 'toyfmt' is claimed twice: by p and by q") as err:
        reg.add_converter("toyfmt", "m:g", "q")
    assert isinstance(err.value, DuplicateNameError) and not isinstance(err.value, DuplicateModelError)


def test_an_unknown_label_set_names_the_known_ones() -> None:
    with pytest.raises(SpecError, match=r"unknown category set 'nope' \(known: .*coco80.*imagenet1k"):
        Registry().label_set("nope")
    assert Registry().label_set("coco80").labels[0] == "person"


def test_remove_takes_a_model_out() -> None:
    reg = _registry("a", "b")
    assert reg.remove("a").name == "a" and reg.list() == ["b"]
    with pytest.raises(UnknownModelError):
        reg.remove("a")
