"""The package version, read by the facade (`zoo.__version__`), export metadata and bench reports."""

__version__ = "0.1.0"
