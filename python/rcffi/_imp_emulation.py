"""The few pieces of the removed ``imp`` module that cffi code uses
(``cffi._imp_emulation`` upstream), on top of importlib."""

import importlib.machinery
import importlib.util
import sys

__all__ = ['load_dynamic', 'get_suffixes', 'PY_SOURCE', 'PY_COMPILED',
           'C_EXTENSION']

PY_SOURCE = 1
PY_COMPILED = 2
C_EXTENSION = 3


def get_suffixes():
    """(suffix, mode, kind) for every kind of importable file."""
    return ([(s, 'rb', C_EXTENSION)
             for s in importlib.machinery.EXTENSION_SUFFIXES] +
            [(s, 'r', PY_SOURCE) for s in importlib.machinery.SOURCE_SUFFIXES] +
            [(s, 'rb', PY_COMPILED)
             for s in importlib.machinery.BYTECODE_SUFFIXES])


def load_dynamic(name, path, file=None):
    """Import the extension module file 'path' as module 'name' (also
    when a module of that name was imported before)."""
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
