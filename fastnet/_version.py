"""The version of fastnet, in one place (imported by the package, the CLI and model files)."""
__version__ = "0.2.0.dev0"
