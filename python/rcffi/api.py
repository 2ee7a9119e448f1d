"""The Python-level ``FFI`` class (``cffi.api`` upstream).

The runtime part of FFI -- cdef, new, cast, typeof, sizeof, dlopen, callbacks
and the rest -- is implemented in Rust by ``rcffi._backend.FFI``.  This
subclass adds what needs Python's tool chain: ``set_source()`` and the
builder methods that generate and compile C code, the setuptools glue,
``verify()`` and embedding.
"""

import os
import sys

from . import _backend

__all__ = ['FFI']

_BackendFFI = _backend.FFI


class FFI(_BackendFFI):
    r'''
    The main top-level class: instantiate it once, or once per module.

        ffi = FFI()
        ffi.cdef("""
            int printf(const char *, ...);
        """)
        C = ffi.dlopen(None)      # the standard C library
        C.printf(b"hello, %s!\n", ffi.new("char[]", b"world"))
    '''

    def __new__(cls, *args, **kwds):
        # The backend type ignores constructor arguments here; keyword
        # arguments such as _types= are only for out-of-line modules, which
        # instantiate the backend type directly.
        return _BackendFFI.__new__(cls)

    def __init__(self, backend=None):
        """Create an FFI instance.  'backend' selects a non-default backend
        in upstream cffi; rcffi has exactly one, rcffi._backend (also known
        as _cffi_backend once rcffi stands in for cffi)."""
        if backend is None:
            backend = _backend
        elif backend is not _backend:
            raise NotImplementedError(
                "rcffi: FFI(backend=%r) is not supported; rcffi has only one "
                "backend, rcffi._backend (the ctypes backend of upstream "
                "cffi is not provided)" % (backend,))
        _BackendFFI.__init__(self)
        # Like upstream's cffi.FFI: 'struct foo' in a type string declares
        # an opaque struct when unknown.
        self._auto_declare_tags = True
        self._backend = backend
        self._windows_unicode = None
        self._embedding = None
        # What the out-of-line generator replays: every cdef() and include()
        # in order (see _record()), and upstream's bookkeeping of the same.
        self._cdef_steps = []
        self._cdefsources = []
        self._included_ffis = []

    # ------------------------------------------------------------------
    # declarations: the backend parses them; here they are also recorded,
    # because generating an out-of-line module re-parses them

    def _record(self):
        # subclasses may skip __init__: create the lists on first use
        d = self.__dict__
        return (d.setdefault('_cdef_steps', []),
                d.setdefault('_cdefsources', []),
                d.setdefault('_included_ffis', []))

    @property
    def _parser(self):
        """A read-only view of the declarations in the shape of upstream's
        ``cparser.Parser``: ``_declarations`` maps keys like 'function f',
        'typedef foo_t', 'struct s', 'macro N' to (C name of the type, or the
        value of a macro; qualifiers), and ``_int_constants`` maps names to
        values.  Recomputed from the recorded cdef() calls at each access."""
        decls, consts = _backend._cdef_declarations(self._record()[0])
        return _ParserView(decls, consts)

    def cdef(self, csource, override=False, packed=False, pack=None):
        """Parse the given C source.  This registers all declared
        functions, types, and global variables.  The functions and global
        variables can then be accessed via either 'ffi.dlopen()' or
        'ffi.verify()'.  The types can be used in 'ffi.new()' and other
        functions.  If 'packed' is specified as True, all structs declared
        inside this cdef are packed, i.e. laid out without any field
        alignment at all.  Alternatively, 'pack' can be a small integer, and
        requests for alignment greater than that are ignored (pack=1 is
        equivalent to packed=True).
        """
        _BackendFFI._cdef(self, csource, override=override, packed=packed,
                          pack=pack)
        steps, sources, _ = self._record()
        steps.append(('cdef', csource, bool(override), packed, pack))
        sources.append(csource)

    def include(self, ffi_to_include):
        """Includes the typedefs, structs, unions and enums defined in
        another FFI instance.  Usage is similar to a #include in C, where a
        part of the program might include types defined in another part for
        its own usage.  Note that the include() method has no effect on
        functions, constants and global variables, which must anyway be
        accessed directly from the lib object returned by the original FFI
        instance.
        """
        if not isinstance(ffi_to_include, FFI):
            raise TypeError("ffi.include() expects an argument that is also "
                            "of type cffi.FFI, not %r"
                            % (type(ffi_to_include).__name__,))
        _BackendFFI._include(self, ffi_to_include)
        theirs_steps, theirs_sources, _ = ffi_to_include._record()
        steps, sources, included = self._record()
        steps.append(('include', list(theirs_steps)))
        sources.append('[')
        sources.extend(theirs_sources)
        sources.append(']')
        included.append(ffi_to_include)

    # ------------------------------------------------------------------
    # out-of-line modules: declaring the source

    def dlopen(self, name, flags=0):
        """Load and return a dynamic library identified by 'name'.  The
        standard C library can be loaded by passing None.  A short name like
        "m" or "c" is looked up the way ctypes.util.find_library() does."""
        if name is None or not isinstance(name, str):
            return _BackendFFI.dlopen(self, name, flags)
        first_error = None
        if '.' in name or '/' in name or os.sep in name:
            try:
                return _BackendFFI.dlopen(self, name, flags)
            except OSError as e:
                first_error = e
        import ctypes.util
        path = ctypes.util.find_library(name)
        if path is None:
            msg = ("ctypes.util.find_library() did not manage to locate a "
                   "library called %r" % (name,))
            if first_error is not None:
                msg = "%s.  Additionally, %s" % (first_error, msg)
            raise OSError(msg)
        return _BackendFFI.dlopen(self, path, flags)

    def set_source(self, module_name, source, source_extension='.c', **kwds):
        """Name the out-of-line module to build and give its C source
        (None for an ABI-mode module, which is pure Python).  The keyword
        arguments are those of setuptools.Extension (include_dirs,
        libraries, define_macros, extra_compile_args, ...)."""
        import os
        if hasattr(self, '_assigned_source'):
            raise ValueError("set_source() cannot be called several times "
                             "per ffi object")
        if not isinstance(module_name, str):
            raise TypeError("'module_name' must be a string")
        if os.sep in module_name or (os.altsep and os.altsep in module_name):
            raise ValueError("'module_name' must not contain '/': use a dotted "
                             "name to make a 'package.module' location")
        if self._windows_unicode:
            self._apply_windows_unicode(kwds)
        self._assigned_source = (str(module_name), source,
                                 source_extension, kwds)

    def def_extern(self, *args, **kwds):
        """Only the ffi of a compiled (API-mode) module has extern "Python"
        functions to attach to."""
        raise ValueError("ffi.def_extern() is only available on API-mode FFI "
                         "objects")

    def set_unicode(self, enabled_flag):
        """Windows: if 'enabled_flag' is True, enable the UNICODE and
        _UNICODE defines in C, and declare the types like TCHAR and LPTCSTR
        to be (pointers to) wchar_t.  If 'enabled_flag' is False, declare
        these types to be (pointers to) plain 8-bit characters."""
        if self._windows_unicode is not None:
            raise ValueError("set_unicode() can only be called once")
        enabled_flag = bool(enabled_flag)
        char = "wchar_t" if enabled_flag else "char"
        self.cdef("".join("typedef %s;" % decl for decl in (
            "%s TBYTE" % char, "%s TCHAR" % char,
            "const %s *LPCTSTR" % char, "const %s *PCTSTR" % char,
            "%s *LPTSTR" % char, "%s *PTSTR" % char,
            "TBYTE *PTBYTE", "TCHAR *PTCHAR")))
        self._windows_unicode = enabled_flag

    def _apply_windows_unicode(self, kwds):
        # set_unicode(True): the C code sees UNICODE and _UNICODE defined.
        defmacros = kwds.get('define_macros', ())
        if not isinstance(defmacros, (list, tuple)):
            raise TypeError("'define_macros' must be a list or tuple")
        kwds['define_macros'] = list(defmacros) + [('UNICODE', '1'),
                                                   ('_UNICODE', '1')]

    def set_source_pkgconfig(self, module_name, pkgconfig_libs, source,
                             source_extension='.c', **kwds):
        """Like set_source(), with compiler and linker flags taken from
        pkg-config for each package name in the list pkgconfig_libs."""
        from . import pkgconfig
        if not isinstance(pkgconfig_libs, list):
            raise TypeError("the pkgconfig_libs argument must be a list "
                            "of package names")
        flags = pkgconfig.flags_from_pkgconfig(pkgconfig_libs)
        pkgconfig.merge_flags(kwds, flags)
        self.set_source(module_name, source, source_extension, **kwds)

    def _get_assigned_source(self, method, want_c):
        if not hasattr(self, '_assigned_source'):
            raise ValueError("set_source() must be called before %s()"
                             % (method,))
        module_name, source, source_extension, kwds = self._assigned_source
        if want_c is True and source is None:
            raise TypeError("%s() is only for C extension modules, not for "
                            "dlopen()-style pure Python modules" % (method,))
        if want_c is False and source is not None:
            raise TypeError("%s() is only for dlopen()-style pure Python "
                            "modules, not for C extension modules" % (method,))
        return module_name, source, source_extension, kwds

    # ------------------------------------------------------------------
    # out-of-line modules: generating and compiling

    def distutils_extension(self, tmpdir='build', verbose=True):
        """Generate the C file into 'tmpdir' and return a
        setuptools.Extension that compiles it."""
        module_name, source, source_extension, kwds = \
            self._get_assigned_source('distutils_extension', True)
        from .recompiler import recompile
        import os
        os.makedirs(tmpdir, exist_ok=True)
        ext, updated = recompile(self, module_name, source, tmpdir=tmpdir,
                                 extradir=tmpdir,
                                 source_extension=source_extension,
                                 call_c_compiler=False, **kwds)
        if verbose:
            sys.stderr.write("%s: %r\n" % (
                "regenerated" if updated else "not modified", ext.sources[0]))
        return ext

    def emit_c_code(self, filename):
        """Write the C source of the API-mode module to 'filename'."""
        module_name, source, source_extension, kwds = \
            self._get_assigned_source('emit_c_code', True)
        from .recompiler import recompile
        recompile(self, module_name, source, c_file=filename,
                  call_c_compiler=False, uses_ffiplatform=False, **kwds)

    def emit_python_code(self, filename):
        """Write the Python source of the ABI-mode module to 'filename'."""
        module_name, source, source_extension, kwds = \
            self._get_assigned_source('emit_python_code', False)
        from .recompiler import recompile
        recompile(self, module_name, source, c_file=filename,
                  call_c_compiler=False, uses_ffiplatform=False, **kwds)

    def compile(self, tmpdir='.', verbose=0, target=None, debug=None):
        """Generate the module and, in API mode, compile it; returns the
        path of the result.  'target' names the compiled file: '*' for the
        usual extension-module suffix, 'name.*' for the platform's shared
        library suffix."""
        module_name, source, source_extension, kwds = \
            self._get_assigned_source('compile', None)
        from .recompiler import recompile
        return recompile(self, module_name, source, tmpdir=tmpdir,
                         target=target, source_extension=source_extension,
                         compiler_verbose=verbose, debug=debug, **kwds)

    # ------------------------------------------------------------------
    # embedding

    def embedding_api(self, csource, packed=False, pack=None):
        """Like cdef(), for the C API of an embedding DLL: every function
        declared here is exported by the compiled library and implemented
        by Python code attached with @ffi.def_extern() (in the code of
        embedding_init_code(), run when the library is first used)."""
        _BackendFFI._cdef(self, csource, override=False, packed=packed,
                          pack=pack)
        steps, sources, _ = self._record()
        steps.append(('cdef', csource, False, packed, pack, True))
        sources.append(csource)
        if self._embedding is None:
            self._embedding = ''

    def embedding_init_code(self, pysource):
        """The Python code that an embedding DLL runs (once) when it is
        first used, right after starting Python.  It is stored in the
        library, dedented; it must be valid Python (SyntaxError otherwise)."""
        if self._embedding:
            raise ValueError("embedding_init_code() can only be called once")
        pysource = _dedent_init_code(pysource)
        compile(pysource, "cffi_init", "exec")
        self._embedding = pysource

    def _apply_embedding_fix(self, kwds):
        """Make the Extension keyword dict 'kwds' link against libpython:
        a library that embeds Python must pull in the interpreter itself,
        unlike an extension module that is loaded by one."""
        _add_embedding_link_flags(kwds)

    # ------------------------------------------------------------------
    # the older verify() route

    def verify(self, source='', tmpdir=None, **kwargs):
        """Verify that the current ffi signatures compile on this machine,
        and return a dynamic library object.  The library is compiled by
        the C compiler: it gives you C-level API compatibility (including
        calling macros)."""
        from .verifier import Verifier, _caller_dir_pycache
        if self._windows_unicode:
            self._apply_windows_unicode(kwargs)
        # the caller's directory, not Verifier's caller's
        tmpdir = tmpdir or _caller_dir_pycache()
        self.verifier = Verifier(self, source, tmpdir, **kwargs)
        lib = self.verifier.load_library()
        self.__dict__.setdefault('_libraries', []).append(lib)
        return lib


# The backend's methods, owned by this class too: CPython's fast path for calls of C methods
# needs type(ffi) to be the method's owner (see crates/rcffi/src/fastmethods.rs).
_backend._own_methods(FFI)


class _ParserView(object):
    """What FFI._parser gives (see there)."""

    def __init__(self, declarations, int_constants):
        self._declarations = declarations
        self._int_constants = int_constants


def _dedent_init_code(source):
    """'source' without its leading blank lines, and without the indentation
    that its first line shares with every other non-blank line; each line
    ends with a newline (so that tracebacks count lines from the first)."""
    import re
    source = re.sub(r'\A\s*\n', '', source)
    lines = source.splitlines() or ['']
    indent = re.match(r'\s*', lines[0]).group()
    for line in lines[1:]:
        if line.strip():
            while not line.startswith(indent):
                indent = indent[:-1]
    return ''.join(line[len(indent):] + '\n' for line in lines)


def _python_library_name():
    """The name to pass as -l<name> to link with this interpreter's
    libpython (or libpypy), as setuptools' 'libraries' entry."""
    major, minor = sys.version_info[:2]
    if '__pypy__' in sys.builtin_module_names:
        # no ABI flags here: PyPy names its library after itself
        if sys.platform == 'win32':
            return 'python%d%d' % (major, minor)
        return 'pypy3-c'
    if sys.platform == 'win32':
        name = 'python%d%d' % (major, minor)
        if hasattr(sys, 'gettotalrefcount'):
            name += '_d'
    else:
        import sysconfig
        name = 'python%d.%d' % (major, minor)
        name += sysconfig.get_config_var('DEBUG_EXT') or ''
    return name + getattr(sys, 'abiflags', '')


def _add_embedding_link_flags(kwds):
    import os

    def add(key, value):
        values = kwds.setdefault(key, [])
        if value not in values:
            values.append(value)

    if '__pypy__' in sys.builtin_module_names and hasattr(sys, 'prefix'):
        # installed PyPys keep libpypy next to the executable (or in libs/
        # on Windows); uninstalled ones in pypy/goal/
        subdir = 'libs' if sys.platform == 'win32' else 'bin'
        add('library_dirs', os.path.join(sys.prefix, subdir))
        add('library_dirs', os.path.join(sys.prefix, 'pypy', 'goal'))
    add('libraries', _python_library_name())
    if sys.platform == 'win32':
        add('extra_link_args', '/MANIFEST')
