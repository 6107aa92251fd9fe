"""InceptionResnetV1 against facenet-pytorch 2.6.0: a checkpoint in its layout (made here from its class with
random weights and random batch-norm statistics, plus the identity classifier `logits.*` that the real
vggface2 file carries) converts and gives the same embeddings; face alignment and `compare`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from clikit import trained_like_bn, zoo_in_process
from PIL import Image

import zoo
from zoo.errors import ConversionError, InputError
from zoo_faces.convert import read_facenet_inception
from zoo_faces.models import FACE_SIZE, compare, extract_face, largest_face


@pytest.fixture(scope="module")
def reference_net(facenet) -> torch.nn.Module:
    torch.manual_seed(0)
    net = facenet.InceptionResnetV1(pretrained=None).eval()
    return trained_like_bn(net, seed=1)  # so that a wrong BN mapping shows


@pytest.fixture(scope="module")
def checkpoint(reference_net, tmp_path_factory) -> Path:
    state = dict(reference_net.state_dict())
    state["logits.weight"] = torch.randn(8631, 512) * 0.01  # vggface2's identity classifier
    state["logits.bias"] = torch.zeros(8631)
    path = tmp_path_factory.mktemp("facenet") / "20180402-114759-vggface2.pt"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def embedder(checkpoint):
    return zoo.load("facenet-inception-resnet-v1", weights=checkpoint)


def test_converted_checkpoint_gives_the_reference_embeddings(embedder, reference_net) -> None:
    x = (torch.rand(2, 3, FACE_SIZE, FACE_SIZE, generator=torch.Generator().manual_seed(2)) * 255 - 127.5) / 128
    with torch.inference_mode():
        ours, ref = embedder(x), reference_net(x)
    assert ours.shape == (2, 512)
    assert (ours - ref).abs().max() < 1e-5
    assert torch.allclose(ours.norm(dim=1), torch.ones(2))


def test_converter_drops_logits_and_refuses_other_layouts(checkpoint, tmp_path) -> None:
    state = read_facenet_inception(checkpoint)
    assert not any(k.startswith("logits.") for k in state) and "last_bn.running_var" in state
    other = tmp_path / "other.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(ConversionError, match="not a facenet-pytorch InceptionResnetV1"):
        read_facenet_inception(other)


def test_predict_embeds_an_image(embedder, shared_images) -> None:
    result = embedder.predict(str(shared_images / "astronaut.png"))
    assert len(result.embedding) == 512 and abs(np.linalg.norm(result.embedding) - 1) < 1e-5
    assert result.to_json()["source"].endswith("astronaut.png")


def test_extract_face_equals_reference(facenet, shared_images) -> None:
    from facenet_pytorch.models.utils.detect_face import extract_face as ref_extract

    pil = Image.open(shared_images / "grace_hopper.jpg").convert("RGB")
    for box, margin in (([174.4, 119.6, 355.6, 340.5], 0), ([-5.0, 10.2, 120.7, 700.0], 20)):
        ref = ref_extract(pil, np.asarray(box), FACE_SIZE, margin)
        ours = torch.from_numpy(extract_face(np.asarray(pil), box, FACE_SIZE, margin).astype(np.float32)).permute(2, 0, 1)
        assert torch.equal(ours, ref)


def test_compare_matches_the_reference_pipeline(embedder, mtcnn_model, reference_net, facenet, shared_images) -> None:
    """facenet-pytorch: MTCNN(image_size=160)(img) -> InceptionResnetV1; the zoo: compare()."""
    ref_mtcnn = facenet.MTCNN(image_size=FACE_SIZE)
    a, b = shared_images / "grace_hopper.jpg", shared_images / "astronaut.png"
    with torch.inference_mode():
        ref = reference_net(torch.stack([ref_mtcnn(Image.open(p).convert("RGB")) for p in (a, b)]))
    result = compare(str(a), str(b), embedder, mtcnn_model)
    ours = torch.tensor([result.a.embedding, result.b.embedding])
    assert (ours - ref).abs().max() < 1e-4
    assert abs(result.distance - float((ref[0] - ref[1]).norm())) < 1e-4
    assert result.same == (result.distance < result.threshold)
    assert "distance" in result.line() and result.to_json()["same_person"] == result.same
    same = compare(str(a), str(a), embedder, mtcnn_model)
    assert same.distance < 1e-6 and same.same


def test_compare_names_the_photo_without_a_face(embedder, mtcnn_model, shared_images) -> None:
    with pytest.raises(InputError, match=r"chelsea\.png: no face found"):
        compare(str(shared_images / "astronaut.png"), str(shared_images / "chelsea.png"), embedder, mtcnn_model)


def test_largest_face_is_chosen(mtcnn_model, shared_images) -> None:
    result = mtcnn_model.predict(str(shared_images / "astronaut.png"))
    assert largest_face(result) is result.detections[0]


def test_predict_compare_on_the_command_line(checkpoint, mtcnn_weights_dir, reference_net, facenet, shared_images,
                                             capsys) -> None:
    import json

    assert zoo_in_process(capsys, "import", "mtcnn", str(mtcnn_weights_dir))[0] == 0
    assert zoo_in_process(capsys, "import", "facenet-inception-resnet-v1", str(checkpoint))[0] == 0
    a, b, cat = (str(shared_images / n) for n in ("grace_hopper.jpg", "astronaut.png", "chelsea.png"))
    # on the CPU by name: the distance is compared with the CPU reference to 1e-4 (a GPU's TF32 convolutions would
    # move it by more)
    code, out, err = zoo_in_process(capsys, "predict", "facenet-inception-resnet-v1", a, b, "--compare", "--json", "--device",
                                            "cpu")
    assert code == 0, err
    first, second = json.loads(out)["results"]
    assert first["distance"] == 0 and first["same_person"] and first["compared_with"] == a
    ref_mtcnn = facenet.MTCNN(image_size=160)
    with torch.inference_mode():
        ref = reference_net(torch.stack([ref_mtcnn(Image.open(p).convert("RGB")) for p in (a, b)]))
    assert abs(second["distance"] - float((ref[0] - ref[1]).norm())) < 1e-4
    assert second["same_person"] == (second["distance"] < 1.1) and len(second["box"]) == 4
    code, out, err = zoo_in_process(capsys, "predict", "facenet-inception-resnet-v1", a, b, "--compare", "--threshold", "2")
    assert code == 0 and "same person (threshold 2.0)" in out, out + err  # 2: the largest unit-vector distance
    code, out, err = zoo_in_process(capsys, "predict", "facenet-inception-resnet-v1", a, cat, "--compare")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and lines == [f"error: {cat}: no face found"]
