"""pkg-config support for ``ffi.set_source_pkgconfig()``."""

import os
import shlex
import subprocess
import sys

from .error import PkgConfigError

__all__ = ['merge_flags', 'call', 'flags_from_pkgconfig']


def merge_flags(cfg1, cfg2):
    """Add the setuptools.Extension keyword lists of dict 'cfg2' to those of
    dict 'cfg1' (in place); returns cfg1."""
    for key, value in cfg2.items():
        if not isinstance(value, list):
            raise TypeError("cfg2[%r] should be a list of strings, not %s"
                            % (key, type(value).__name__))
        existing = cfg1.setdefault(key, [])
        if not isinstance(existing, list):
            raise TypeError("cfg1[%r] should be a list of strings, not %s"
                            % (key, type(existing).__name__))
        existing.extend(value)
    return cfg1


def call(libname, flag, encoding=sys.getfilesystemencoding()):
    """Run ``pkg-config FLAG LIBNAME`` and return its output as a str."""
    pkg_config = os.environ.get('PKG_CONFIG', 'pkg-config')
    argv = [pkg_config, '--print-errors', flag, libname]
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    except OSError as e:
        raise PkgConfigError("cannot run %s: %s" % (pkg_config, e))
    if proc.returncode != 0:
        raise PkgConfigError(proc.stderr.decode(encoding, 'replace').strip()
                             or "%s failed with exit code %d"
                             % (' '.join(argv), proc.returncode))
    return proc.stdout.decode(encoding, 'replace')


def _split(output, prefix=None):
    words = shlex.split(output)
    if prefix is None:
        return words
    return [w[len(prefix):] for w in words if w.startswith(prefix)]


def _macro(word):
    name, eq, value = word.partition('=')
    return (name, value if eq else None)


def flags_from_pkgconfig(libs):
    """Ask pkg-config for the compile and link flags of every package name
    in 'libs'; returns a dict of setuptools.Extension keyword lists."""
    result = {}
    for libname in libs:
        cflags = call(libname, '--cflags')
        libs_out = call(libname, '--libs')
        flags = {
            'include_dirs': _split(cflags, '-I'),
            'define_macros': [_macro(w) for w in _split(cflags, '-D')],
            'extra_compile_args': [w for w in _split(cflags)
                                   if not w.startswith(('-I', '-D'))],
            'library_dirs': _split(libs_out, '-L'),
            'libraries': _split(libs_out, '-l'),
            'extra_link_args': [w for w in _split(libs_out)
                                if not w.startswith(('-L', '-l'))],
        }
        merge_flags(result, flags)
    return result
