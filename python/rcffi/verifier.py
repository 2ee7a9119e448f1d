"""The ``ffi.verify()`` machinery (``cffi.verifier`` upstream): compiling
the cdef against real C source on the fly, with the API-mode generator, and
the helpers that manage its temporary directory."""

import os
import sys

from .error import VerificationError  # noqa: F401  (upstream exports it)

__all__ = ['Verifier', 'set_tmpdir', 'cleanup_tmpdir']

#: upstream's switch between its two C generators; kept for code that sets it
_FORCE_GENERIC_ENGINE = False

_TMPDIR = None


#: part of the module-name hash, so that modules of another rcffi are not reused
__version_verifier_modules__ = 'rcffi-0.1'


class Verifier(object):
    """What ffi.verify() uses: the cdef and 'preamble' (C source) compiled into
    an extension module named after a hash of both, in 'tmpdir', then loaded.

    rcffi writes that module with its API-mode generator (the same as
    set_source() + compile()), so the library behaves like the 'lib' of an
    API-mode module.  After loading, the calling ffi's public methods are
    those of the module's ffi, so that the types the ffi makes and those the
    library takes are the same."""

    def __init__(self, ffi, preamble, tmpdir=None, modulename=None,
                 ext_package=None, tag='', force_generic_engine=False,
                 source_extension='.c', flags=None, relative_to=None,
                 **kwds):
        from . import ffiplatform
        self.ffi = ffi
        self.preamble = preamble
        self.flags = flags
        self.kwds = self.make_relative_to(kwds, relative_to)
        if modulename:
            if tag:
                raise TypeError("can't specify both 'modulename' and 'tag'")
        else:
            import binascii
            key = '\x00'.join(['%d.%d' % sys.version_info[:2],
                               __version_verifier_modules__,
                               preamble, ffiplatform.flatten(kwds)] +
                              list(getattr(ffi, '_cdefsources', [])))
            key = key.encode('utf-8')
            k1 = hex(binascii.crc32(key[0::2]) & 0xffffffff)
            k1 = k1.lstrip('0x').rstrip('L')
            k2 = hex(binascii.crc32(key[1::2]) & 0xffffffff)
            k2 = k2.lstrip('0').rstrip('L')
            modulename = '_cffi_%s_%s%s%s' % (tag, 'rcffi', k1, k2)
        self.tmpdir = tmpdir or _caller_dir_pycache()
        self.sourcefilename = os.path.join(self.tmpdir,
                                           modulename + source_extension)
        self.modulefilename = os.path.join(self.tmpdir,
                                           modulename + _get_so_suffixes()[0])
        self.ext_package = ext_package
        self._has_source = False
        self._has_module = False

    def write_source(self, file=None):
        """Write the C source code, to 'self.sourcefilename' (which can be
        tweaked beforehand) or to 'file'."""
        if self._has_source and file is None:
            raise VerificationError("source code already written")
        self._write_source(file)

    def compile_module(self):
        """Write the C source (if not done already) and compile it into
        'self.modulefilename'."""
        if self._has_module:
            raise VerificationError("module already compiled")
        if not self._has_source:
            self._write_source()
        self._compile_module()

    def load_library(self):
        """The library of the compiled module (written and compiled first
        if needed)."""
        if not self._has_module:
            self._locate_module()
            if not self._has_module:
                if not self._has_source:
                    self._write_source()
                self._compile_module()
        return self._load_library()

    def get_module_name(self):
        return os.path.basename(self.modulefilename).split('.', 1)[0]

    def get_extension(self):
        from . import ffiplatform
        if not self._has_source:
            self._write_source()
        sourcename = ffiplatform.maybe_relative_path(self.sourcefilename)
        return ffiplatform.get_extension(sourcename, self.get_module_name(),
                                         **self.kwds)

    def generates_python_module(self):
        return True

    def make_relative_to(self, kwds, relative_to):
        from . import ffiplatform
        if relative_to and os.path.dirname(relative_to):
            dirname = os.path.dirname(relative_to)
            kwds = kwds.copy()
            for key in ffiplatform.LIST_OF_FILE_NAMES:
                if key in kwds:
                    lst = kwds[key]
                    if not isinstance(lst, (list, tuple)):
                        raise TypeError("keyword '%s' should be a list or "
                                        "tuple" % (key,))
                    kwds[key] = [os.path.join(dirname, fn) for fn in lst]
        return kwds

    # ----------

    def _locate_module(self):
        if os.path.isfile(self.modulefilename):
            self._has_module = True

    def _write_source(self, file=None):
        from .recompiler import _generate, _write_if_changed
        text = _generate(self.ffi, 'c', self.get_module_name(), self.preamble,
                         for_verify=True)
        if file is not None:
            file.write(text)
            return
        os.makedirs(os.path.dirname(self.sourcefilename) or '.', exist_ok=True)
        _write_if_changed(self.sourcefilename, text)
        self._has_source = True

    def _compile_module(self):
        from . import ffiplatform
        tmpdir = os.path.dirname(self.sourcefilename)
        outputfilename = ffiplatform.compile(tmpdir, self.get_extension())
        try:
            same = os.path.samefile(outputfilename, self.modulefilename)
        except OSError:
            same = False
        if not same:
            os.makedirs(os.path.dirname(self.modulefilename) or '.',
                        exist_ok=True)
            import shutil
            shutil.move(outputfilename, self.modulefilename)
        self._has_module = True

    def _load_library(self):
        import importlib.machinery
        import importlib.util
        name = self.get_module_name()
        module = sys.modules.get(name)
        if module is None:
            loader = importlib.machinery.ExtensionFileLoader(
                name, self.modulefilename)
            spec = importlib.util.spec_from_file_location(
                name, self.modulefilename, loader=loader)
            # The module's init imports `_cffi_backend`: it must get rcffi's,
            # also in a process where rcffi does not stand in for cffi
            # (or where upstream's was imported); whatever was there before
            # is put back afterwards.
            from . import _backend
            before = sys.modules.get('_cffi_backend')
            sys.modules['_cffi_backend'] = _backend
            try:
                module = importlib.util.module_from_spec(spec)
                loader.exec_module(module)
            except ImportError as e:
                # e.g. a declared function the C library does not have
                raise VerificationError("importing %r: %s"
                                        % (self.modulefilename, e))
            finally:
                if before is None:
                    del sys.modules['_cffi_backend']
                else:
                    sys.modules['_cffi_backend'] = before
        _check_layouts(self.ffi, module.ffi)
        _check_int_constants(self.ffi, module)
        # as upstream's CPython engine: the library names its module and keeps
        # the user's ffi alive
        from . import _backend
        _backend._lib_set_extra(module.lib, '_cffi_python_module', module)
        _backend._lib_set_extra(module.lib, '_cffi_ffi', self.ffi)
        # The ffi now works with the module's types.
        for attr in dir(module.ffi):
            if not attr.startswith('_'):
                value = getattr(module.ffi, attr)
                if value is not getattr(self.ffi, attr, object()):
                    try:
                        setattr(self.ffi, attr, value)
                    except (AttributeError, TypeError):
                        pass
        return module.lib


def _check_int_constants(ffi, module):
    """verify() checks the cdef's integer constants (#define, static const,
    enumerators) against the C compiler's values when it loads the module,
    where set_source() modules only complain on access."""
    from . import _backend
    decls, consts = _backend._cdef_declarations(ffi._cdef_steps)
    enum_of = {}
    for key, (type_name, _) in decls.items():
        if key.startswith(('enum ', 'anonymous ')):
            try:
                ctype = module.ffi.typeof(type_name)
            except (module.ffi.error, TypeError, KeyError):
                continue
            if ctype.kind == 'enum':
                for name in ctype.relements:
                    enum_of[name] = ctype.cname
    for name, expected in consts.items():
        check = _backend._lib_int_check(module.lib, name)
        if check is not None and not check[1]:
            where = ("%s: " % enum_of[name]) if name in enum_of else ""
            raise VerificationError("%s%s has the real value %s, not %s"
                                    % (where, name, check[0], expected))


def _check_layouts(ffi, compiled_ffi):
    """Upstream's ffi.verify() checks, when loading, that the structs and
    unions of the cdef (those not completed by the compiler with '...') have
    the layout the C compiler gave: the total size and alignment, then the
    offset and size of each field.  The layout "we have" is the one the cdef
    alone gives, as in an in-line FFI."""
    steps = getattr(ffi, '_cdef_steps', None) or []
    if any(step[0] != 'cdef' for step in steps):
        return      # with ffi.include(): not checked
    decls = [key for key in ffi._parser._declarations
             if key.split(' ', 1)[0] in ('struct', 'union', 'anonymous')]
    if not decls:
        return
    from .api import FFI
    from .error import VerificationMissing
    ours = FFI()
    for _, source, override, packed, pack in steps:
        ours.cdef(source, override=override, packed=packed, pack=pack)
    for key in sorted(decls):
        kind, name = key.split(' ', 1)
        if kind == 'anonymous':
            cname, table_name = name, '$' + name
        else:
            cname, table_name = key, name
        try:
            BStruct = ours.typeof(cname)
            if BStruct.kind not in ('struct', 'union'):
                continue
            size = ours.sizeof(BStruct)
        except VerificationMissing:
            size = None     # laid out by the C compiler ('...')
        except Exception:
            continue        # opaque
        layout = compiled_ffi._compiled_layout(table_name)
        if layout is None:
            continue
        try:
            if size is None:
                _check_field_sizes(compiled_ffi, table_name, layout)
            else:
                _check_layout(ours, BStruct, size, layout)
        except VerificationError as e:
            e.args = ('%s: %s' % (key, e.args[0]),) + e.args[1:]
            raise


def _check_layout(ffi, BStruct, size, layout):
    def check(realvalue, expectedvalue, msg):
        if realvalue != expectedvalue:
            raise VerificationError("%s (we have %d, but C compiler says %d)"
                                    % (msg, expectedvalue, realvalue))
    totalsize, totalalign, fields = layout
    check(totalsize, size, "wrong total size")
    check(totalalign, ffi.alignof(BStruct), "wrong total alignment")
    for fname, offset, fsize, _ in fields:
        if offset == -1:
            continue    # bitfields are not checked
        check(offset, ffi.offsetof(BStruct, fname),
              "wrong offset for field %r" % (fname,))
        if fsize != -1:
            check(fsize, ffi.sizeof(_field_type(BStruct, fname)),
                  "wrong size for field %r" % (fname,))


def _check_field_sizes(compiled_ffi, name, layout):
    """A struct the C compiler lays out: its fields must still have the
    size of the type the cdef gives them."""
    for fname, offset, fsize, BField in layout[2]:
        if offset == -1 or fsize == -1 or BField is None:
            continue
        try:
            declared = compiled_ffi.sizeof(BField)
        except Exception:
            continue
        if declared != fsize:
            raise VerificationError(
                "field '%s.%s' is declared as %d bytes, but is really %d bytes"
                % (name, fname or '{}', declared, fsize))


def _field_type(BStruct, name):
    """The type of field 'name', looked up in anonymous members too."""
    for fname, field in BStruct.fields or ():
        if fname == name:
            return field.type
        if not fname and field.type.kind in ('struct', 'union'):
            found = _field_type(field.type, name)
            if found is not None:
                return found
    return None


def _locate_engine_class(ffi, force_generic_engine):
    raise NotImplementedError("rcffi: the verify() engines are not "
                              "implemented (see rcffi.verifier.Verifier)")


def _extension_suffixes():
    from importlib.machinery import EXTENSION_SUFFIXES
    return list(EXTENSION_SUFFIXES)


def _get_so_suffixes():
    """The file name suffixes of extension modules, preferred first."""
    suffixes = _extension_suffixes()
    if not suffixes:
        suffixes = ['.pyd'] if sys.platform == 'win32' else ['.so']
    return suffixes


def set_tmpdir(dirname):
    """Use 'dirname' instead of the caller's __pycache__ directory for the
    files of verify()."""
    global _TMPDIR
    _TMPDIR = dirname


def _caller_dir_pycache():
    """The temporary directory of verify(): set_tmpdir(), else
    $CFFI_TMPDIR, else __pycache__ next to the source file of the caller
    of our caller."""
    if _TMPDIR:
        return _TMPDIR
    env = os.environ.get('CFFI_TMPDIR')
    if env:
        return env
    filename = sys._getframe(2).f_code.co_filename
    return os.path.abspath(os.path.join(os.path.dirname(filename),
                                        '__pycache__'))


def cleanup_tmpdir(tmpdir=None, keep_so=False):
    """Remove the files that verify() left in 'tmpdir' (default: as
    verify() chooses it): the _cffi_*.c sources, the _cffi_* compiled
    modules unless 'keep_so', and the 'build' subdirectory."""
    tmpdir = tmpdir or _caller_dir_pycache()
    try:
        names = os.listdir(tmpdir)
    except OSError:
        return
    suffixes = ['.c']
    if not keep_so:
        suffixes += [s.lower() for s in _get_so_suffixes()]
    for name in names:
        lower = name.lower()
        if lower.startswith('_cffi_') and lower.endswith(tuple(suffixes)):
            try:
                os.unlink(os.path.join(tmpdir, name))
            except OSError:
                pass
    _remove_tree(os.path.join(tmpdir, 'build'))


def _remove_tree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)
