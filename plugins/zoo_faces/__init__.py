"""Built-in family "faces": MTCNN face detection with 5 landmarks and FaceNet embeddings (facenet-pytorch's
networks and weights layouts). Hooks only: nothing here imports torch (builders and converters load lazily)."""

from __future__ import annotations

from typing import Any

from zoo.hookspecs import hookimpl


@hookimpl
def zoo_register_tasks(register: Any) -> None:
    from zoo.taskspec import IMAGE_OPTIONS, TaskOption

    compare = TaskOption("compare", "bool", "face models: find each image's largest face (mtcnn), align and embed it, "
                         "and give its distance to the first image with a same-person verdict")
    # unit-length embeddings lie at L2 distance 0 to 2 of each other: a threshold outside (0, 2] decides nothing
    threshold = TaskOption("threshold", "float", "same-person L2 distance for --compare, in [0, 2] (default: the "
                           "model's)", low=0.0, high=2.0)
    register(name="embedding", description="image -> unit-length embedding vector (distances compare identities)",
             result="zoo_faces.results:EmbeddingResult", options=[*IMAGE_OPTIONS, compare, threshold],
             answers="embedding", hub_tag="image-feature-extraction")


@hookimpl
def zoo_register_models(register: Any) -> None:
    # MTCNN's 5 landmarks, in its output order (each pair: the one on the image's left first)
    register.labels("face", ["face"], keypoints=["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"])
    register.builtin(family="faces", builder="zoo_faces.models:build")


@hookimpl
def zoo_register_converters(register: Any) -> None:
    register("mtcnn-facenet-pytorch", "zoo_faces.convert:read_mtcnn_folder")
    register("pytorch-facenet-inception-resnet-v1", "zoo_faces.convert:read_facenet_inception")

