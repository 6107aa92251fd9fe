"""Input pipelines: images onto the model's device (decode.py) and DataLoader workers that decode folders and
videos while the model computes (loader.py). The label files and the sample photo beside them are package data."""

from pathlib import Path

SAMPLE_IMAGE = Path(__file__).with_name("chelsea.jpg")  # a cat, CC0 (scikit-image's sample data): parity checks' photo
