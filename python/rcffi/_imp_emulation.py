"""The few pieces of the removed ``imp`` module that cffi code uses
(``cffi._imp_emulation`` upstream), on top of importlib."""

import importlib.machinery
import importlib.util
import os
import sys

__all__ = ['load_dynamic', 'get_suffixes', 'find_module', 'PY_SOURCE',
           'PY_COMPILED', 'C_EXTENSION', 'PKG_DIRECTORY', 'C_BUILTIN',
           'PY_FROZEN']

PY_SOURCE = 1
PY_COMPILED = 2
C_EXTENSION = 3
PKG_DIRECTORY = 5
C_BUILTIN = 6
PY_FROZEN = 7


def get_suffixes():
    """(suffix, mode, kind) for every kind of importable file."""
    return ([(s, 'rb', C_EXTENSION)
             for s in importlib.machinery.EXTENSION_SUFFIXES] +
            [(s, 'r', PY_SOURCE) for s in importlib.machinery.SOURCE_SUFFIXES] +
            [(s, 'rb', PY_COMPILED)
             for s in importlib.machinery.BYTECODE_SUFFIXES])


def find_module(name, path=None):
    """(file, pathname, (suffix, mode, kind)) of the top-level module 'name'
    as imp.find_module() gave it: a package gives its directory and no file;
    a module file is returned open."""
    if not isinstance(name, str):
        raise TypeError("'name' must be a str, not {}".format(type(name)))
    if path is not None and not isinstance(path, list):
        raise RuntimeError("'path' must be None or a list, "
                           "not {}".format(type(path)))
    if path is None:
        if name in sys.builtin_module_names:
            return None, None, ('', '', C_BUILTIN)
        spec = importlib.util.find_spec(name)
    else:
        spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is None or not spec.has_location:
        if spec is not None and spec.origin == 'frozen':
            return None, None, ('', '', PY_FROZEN)
        raise ImportError("No module named {!r}".format(name), name=name)
    if spec.submodule_search_locations:
        return None, os.path.dirname(spec.origin), ('', '', PKG_DIRECTORY)
    for suffix, mode, kind in get_suffixes():
        if spec.origin.endswith(suffix):
            return open(spec.origin, mode), spec.origin, (suffix, mode, kind)
    raise ImportError("No module named {!r}".format(name), name=name)


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
