"""Converters: original checkpoint files -> state dicts in the zoo's layout (then safetensors)."""
