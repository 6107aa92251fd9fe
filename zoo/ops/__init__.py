"""Shared numerics used by several families (resizing, boxes, NMS)."""
