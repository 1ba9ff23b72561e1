"""The kit's version (a leaf module, so every layer can report it)."""

__version__ = "0.2.0"
