"""The kit's version (a leaf module, so every layer can report it)."""

__version__ = "0.3.0.dev0"
