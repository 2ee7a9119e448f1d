"""Driving the platform's C compiler through setuptools
(``cffi.ffiplatform`` upstream)."""

import os
import sys

from .error import VerificationError

__all__ = ['get_extension', 'compile', 'maybe_relative_path', 'flatten',
           'LIST_OF_FILE_NAMES']

#: setuptools.Extension keywords whose values are lists of file names
LIST_OF_FILE_NAMES = ['sources', 'include_dirs', 'library_dirs',
                      'extra_objects', 'depends']


def get_extension(srcfilename, modname, sources=(), **kwds):
    """A setuptools.Extension named 'modname' compiling 'srcfilename' (and
    the extra 'sources'); 'kwds' are further Extension arguments."""
    import setuptools  # noqa: F401  (installs its distutils first)
    from setuptools import Extension
    allsources = [srcfilename]
    for src in sources:
        allsources.append(os.path.normpath(src))
    return Extension(name=modname, sources=allsources, **kwds)


def compile(tmpdir, ext, compiler_verbose=0, debug=None):
    """Compile the setuptools.Extension 'ext' in directory 'tmpdir' and
    return the absolute path of the resulting file.  Compiler and linker
    failures raise VerificationError."""
    saved_environ = dict(os.environ)
    try:
        return os.path.abspath(_build(tmpdir, ext, compiler_verbose, debug))
    finally:
        # distutils' compiler setup may grow variables such as PATH or
        # LIB on each use: restore what we had
        for key in list(os.environ):
            if key not in saved_environ:
                del os.environ[key]
        for key, value in saved_environ.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


def _build(tmpdir, ext, compiler_verbose=0, debug=None):
    import setuptools  # noqa: F401
    from setuptools import Distribution
    from distutils.errors import CCompilerError, DistutilsError
    try:
        from distutils import log
    except ImportError:          # pragma: no cover
        log = None

    dist = Distribution({'ext_modules': [ext]})
    # honour the [build_ext] options of the distutils configuration files
    # (setup.cfg, ~/.pydistutils.cfg, ...), but not the pyproject.toml of
    # whatever project the current directory holds: its [project] table
    # would make setuptools analyse that project's layout
    cfg_files = [f for f in dist.find_config_files()
                 if not str(f).endswith('.toml')]
    dist.parse_config_files(filenames=cfg_files)
    options = dist.get_option_dict('build_ext')
    if debug is None:
        debug = sys.flags.debug or hasattr(sys, 'gettotalrefcount')
    options['debug'] = ('ffiplatform', debug)
    options['force'] = ('ffiplatform', True)
    options['build_lib'] = ('ffiplatform', tmpdir)
    options['build_temp'] = ('ffiplatform', tmpdir)
    dist.verbose = 1 if compiler_verbose else 0

    old_threshold = None
    if log is not None and hasattr(log, 'set_threshold'):
        old_threshold = log.set_threshold(
            log.INFO if compiler_verbose else log.WARN)
    try:
        dist.run_command('build_ext')
        cmd = dist.get_command_obj('build_ext')
        outputs = cmd.get_outputs()
    except (CCompilerError, DistutilsError) as e:
        raise VerificationError('%s: %s' % (e.__class__.__name__, e))
    finally:
        if old_threshold is not None:
            log.set_threshold(old_threshold)
    if len(outputs) != 1:
        raise VerificationError("expected one compiled file, got %r"
                                % (outputs,))
    return outputs[0]


def maybe_relative_path(path):
    """'path' relative to the current directory if it is an absolute path
    below it; otherwise 'path' unchanged."""
    if not os.path.isabs(path):
        return path
    cwd = os.getcwd()
    parts = []
    head = path
    while True:
        if os.path.normcase(head) == os.path.normcase(cwd):
            return os.path.join(*parts) if parts else os.curdir
        head, tail = os.path.split(head)
        if not tail:
            return path
        parts.insert(0, tail)


def flatten(x):
    """A string that encodes 'x' (made of str, int, lists, tuples and dicts)
    unambiguously; used to derive stable names from build options."""
    out = []
    _flatten(x, out)
    return ''.join(out)


def _flatten(x, out):
    if isinstance(x, str):
        out.append('%ds%s' % (len(x), x))
    elif isinstance(x, int):
        out.append('%di' % (x,))
    elif isinstance(x, dict):
        out.append('%dd' % (len(x),))
        for key in sorted(x):
            _flatten(key, out)
            _flatten(x[key], out)
    elif isinstance(x, (list, tuple)):
        out.append('%dl' % (len(x),))
        for item in x:
            _flatten(item, out)
    else:
        raise TypeError("the keywords to verify() contains unsupported "
                        "object %r" % (x,))
