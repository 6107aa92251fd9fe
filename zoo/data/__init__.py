"""Input pipelines: images onto the model's device (decode.py) and DataLoader workers that decode folders and
videos while the model computes (loader.py). The label files beside them are package data, not modules."""
