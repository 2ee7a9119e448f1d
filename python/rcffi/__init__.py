from ._backend import __version__ as _backend_version
