"""The package version (pyproject.toml's), in a module of its own so that any module can read it
without importing the package's top level (which imports the engine)."""
__version__ = "0.5.0"
