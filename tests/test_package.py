"""The Python package: versions, exceptions, the cffi-compatible module
layout, the FFI class and its builder methods."""
import io
import os
import shutil
import sys
import sysconfig

import pytest

import rcffi
from rcffi import _backend
from rcffi.api import FFI

needs_cc = pytest.mark.skipif(
    shutil.which(sysconfig.get_config_var('CC').split()[0]
                 if sysconfig.get_config_var('CC') else 'cc') is None,
    reason="no C compiler")


def test_versions():
    assert rcffi.__version__ == "0.1.0"
    assert rcffi.__cffi_version__ == "2.0.0"
    assert rcffi.__cffi_version_info__ == (2, 0, 0)
    assert _backend.__version__ == "2.0.0"


@pytest.mark.parametrize("name", ['FFIError', 'CDefError', 'VerificationError',
                                  'VerificationMissing', 'PkgConfigError'])
def test_exceptions_are_the_backends(name):
    from rcffi import error
    cls = getattr(rcffi, name)
    assert cls is getattr(_backend, name) is getattr(error, name)
    assert cls.__module__ == 'cffi'
    assert issubclass(cls, Exception)
    assert name in rcffi.__all__


@pytest.mark.parametrize("name", [
    'api', 'backend_ctypes', 'cffi_opcode', 'error', 'ffiplatform', 'model',
    'pkgconfig', 'recompiler', 'setuptools_ext', 'verifier',
    '_imp_emulation'])
def test_upstream_module_names_import(name):
    import importlib
    importlib.import_module('rcffi.' + name)


def test_names_that_upstream_tests_touch_at_import_time():
    from rcffi.backend_ctypes import CTypesBackend
    from rcffi.cffi_opcode import PRIMITIVE_TO_INDEX
    from rcffi.model import PrimitiveType
    from rcffi.recompiler import NativeIO, make_py_source, recompile  # noqa
    from rcffi.setuptools_ext import _set_py_limited_api  # noqa
    from rcffi.verifier import cleanup_tmpdir  # noqa
    from rcffi._imp_emulation import load_dynamic  # noqa
    assert PRIMITIVE_TO_INDEX['int'] == 7
    assert 'int' in PrimitiveType.ALL_PRIMITIVE_TYPES
    assert NativeIO is io.StringIO
    with pytest.raises(NotImplementedError):
        CTypesBackend()


# ---------------------------------------------------------------- opcodes

def test_opcode_numbers():
    from rcffi import cffi_opcode as op
    # the protocol numbers that compiled modules carry (cffi 2.x)
    assert (op.OP_PRIMITIVE, op.OP_POINTER, op.OP_ARRAY, op.OP_OPEN_ARRAY,
            op.OP_STRUCT_UNION, op.OP_ENUM, op.OP_FUNCTION,
            op.OP_FUNCTION_END, op.OP_NOOP, op.OP_BITFIELD,
            op.OP_TYPENAME) == (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21)
    assert op.OP_GLOBAL_VAR == 33 and op.OP_EXTERN_PYTHON == 41
    assert op.CLASS_NAME[op.OP_DLOPEN_FUNC] == 'DLOPEN_FUNC'
    assert (op.PRIM_VOID, op.PRIM_BOOL, op.PRIM_CHAR, op.PRIM_LONGDOUBLE,
            op.PRIM_WCHAR, op.PRIM_SIZE, op.PRIM_UINTMAX,
            op.PRIM_CHAR32) == (0, 1, 2, 15, 16, 28, 47, 51)
    assert op._NUM_PRIM == 52
    assert sorted(op.PRIMITIVE_TO_INDEX.values()) == list(range(1, 52))
    assert op.G_FLAGS['_CFFI_F_OPAQUE'] == op.F_OPAQUE == 0x10


def test_primitive_tables_agree():
    from rcffi.cffi_opcode import PRIMITIVE_TO_INDEX
    from rcffi.model import PrimitiveType
    assert set(PrimitiveType.ALL_PRIMITIVE_TYPES) == set(PRIMITIVE_TO_INDEX)


def test_cffiop_encoding():
    from rcffi.cffi_opcode import CffiOp, OP_POINTER, OP_PRIMITIVE, PRIM_INT
    from rcffi import VerificationError
    assert CffiOp(OP_POINTER, 5).as_python_bytes() == '\\x00\\x00\\x05\\x03'
    assert CffiOp(OP_PRIMITIVE, PRIM_INT).as_c_expr() == \
        '_CFFI_OP(_CFFI_OP_PRIMITIVE, 7)'
    assert CffiOp(None, '42').as_python_bytes() == '\\x00\\x00\\x00\\x2A'
    assert CffiOp(None, 'sizeof(int)').as_c_expr() == \
        '(_cffi_opcode_t)(sizeof(int))'
    with pytest.raises(VerificationError):
        CffiOp(None, 'sizeof(int)').as_python_bytes()
    with pytest.raises(OverflowError):
        CffiOp(None, str(2**31)).as_python_bytes()
    assert str(CffiOp(OP_POINTER, 5)) == '(POINTER 5)'


# ------------------------------------------------------------------ model

def test_model_c_names():
    from rcffi import model as m
    int_t = m.PrimitiveType('int')
    assert int_t.get_c_name('x') == 'int x'
    assert m.PointerType(int_t).get_c_name('p') == 'int * p'
    assert m.ConstPointerType(m.PrimitiveType('char')).get_c_name() == \
        'char const *'
    arr = m.ArrayType(int_t, 3)
    assert arr.get_c_name('a') == 'int a[3]'
    assert arr.get_c_name('*pa') == 'int(*pa)[3]'
    assert m.PointerType(arr).get_c_name() == 'int(*)[3]'
    fp = m.FunctionPtrType([int_t, m.PrimitiveType('double')],
                           m.void_type, True)
    assert fp.get_c_name('cb') == 'void(* cb)(int, double, ...)'
    assert fp.as_raw_function().get_c_name() == 'void()(int, double, ...)'
    assert m.StructType('point', None, None, None).get_c_name('*p') == \
        'struct point *p'
    assert m.EnumType('color', [], []).get_c_name() == 'enum color'
    assert m.unknown_type('foo_t').get_c_name('f') == 'foo_t f'


def test_model_equality():
    from rcffi import model as m
    assert m.PrimitiveType('int') == m.PrimitiveType('int')
    assert hash(m.PointerType(m.PrimitiveType('int'))) == \
        hash(m.PointerType(m.PrimitiveType('int')))
    assert m.PrimitiveType('int') != m.PrimitiveType('long')
    s1 = m.StructType('s', None, None, None)
    s2 = m.StructType('s', None, None, None)
    assert s1 != s2 and s1 == s1       # structs compare by identity
    assert m.PrimitiveType('float').is_float_type()
    assert m.PrimitiveType('wchar_t').is_char_type()
    assert m.PrimitiveType('size_t').is_integer_type()
    with pytest.raises(rcffi.CDefError):
        m.PrimitiveType('int128')


def test_model_anonymous_name_cannot_be_generated():
    from rcffi import model as m
    from rcffi import VerificationError
    with pytest.raises(VerificationError):
        m.StructType('$1', None, None, None).get_c_name()


def test_model_struct_fields():
    from rcffi import model as m
    int_t = m.PrimitiveType('int')
    inner = m.UnionType('$u', ('a', 'b'), (int_t, int_t), (-1, -1))
    outer = m.StructType('s', ('x', '', 'y'), (int_t, inner, int_t),
                         (-1, -1, -1))
    assert [f[0] for f in outer.enumfields()] == ['x', 'a', 'b', 'y']
    assert list(outer.anonymous_struct_fields()) == [inner]
    outer.force_flatten()
    assert outer.fldnames == ('x', 'a', 'b', 'y')


# ------------------------------------------------------------- ffiplatform

def test_flatten():
    from rcffi.ffiplatform import flatten
    assert flatten("ab") == "2sab"
    assert flatten(12) == "12i"
    assert flatten(["a", (1, 2)]) == "2l1sa2l1i2i"
    assert flatten({"b": 1, "a": [2]}) == "2d1sa1l2i1sb1i"
    with pytest.raises(TypeError):
        flatten(1.5)


def test_maybe_relative_path(tmp_path, monkeypatch):
    from rcffi.ffiplatform import maybe_relative_path
    monkeypatch.chdir(tmp_path)
    assert maybe_relative_path('a/b') == 'a/b'
    assert maybe_relative_path(str(tmp_path / 'x' / 'y.c')) == \
        os.path.join('x', 'y.c')
    assert maybe_relative_path('/elsewhere/y.c') == '/elsewhere/y.c'


def test_cleanup_tmpdir(tmp_path):
    from rcffi.verifier import cleanup_tmpdir, _get_so_suffixes
    so = _get_so_suffixes()[0]
    for name in ['_cffi_a.c', '_cffi_a' + so, 'other.c', '_cffi_b.txt']:
        (tmp_path / name).write_text('x')
    (tmp_path / 'build' / 'sub').mkdir(parents=True)
    cleanup_tmpdir(str(tmp_path), keep_so=True)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ['_cffi_a' + so, 'other.c', '_cffi_b.txt'])
    cleanup_tmpdir(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['_cffi_b.txt', 'other.c']
    cleanup_tmpdir(str(tmp_path / 'missing'))      # no error


# --------------------------------------------------------------------- FFI

def make_ffi():
    return FFI()


def test_ffi_is_the_backend_type_subclassed():
    assert issubclass(FFI, _backend.FFI)
    assert FFI.error is rcffi.FFIError
    ffi = FFI()
    ffi.anything = 42           # instances have a __dict__
    assert ffi.anything == 42
    assert ffi._backend is _backend

    class MyFFI(FFI):
        def __init__(self, x):
            FFI.__init__(self)
            self.x = x
    assert MyFFI(5).x == 5


def test_ffi_rejects_other_backends():
    with pytest.raises(NotImplementedError):
        FFI(backend=object())
    assert FFI(backend=_backend)._backend is _backend


def test_set_source_checks():
    ffi = make_ffi()
    with pytest.raises(TypeError):
        ffi.set_source(42, "")
    with pytest.raises(ValueError):
        ffi.set_source("pkg/mod", "")
    ffi.set_source("pkg.mod", "/* C */", libraries=['m'])
    assert ffi._assigned_source == ("pkg.mod", "/* C */", '.c',
                                    {'libraries': ['m']})
    with pytest.raises(ValueError):
        ffi.set_source("again", "")


def test_builder_methods_need_set_source():
    ffi = make_ffi()
    for call in (lambda: ffi.compile(), lambda: ffi.emit_c_code('x.c'),
                 lambda: ffi.emit_python_code('x.py'),
                 lambda: ffi.distutils_extension()):
        with pytest.raises(ValueError):
            call()


def test_builder_methods_check_the_mode():
    api = make_ffi()
    api.set_source("_m", "")
    with pytest.raises(TypeError):
        api.emit_python_code('x.py')
    abi = make_ffi()
    abi.set_source("_m", None)
    with pytest.raises(TypeError):
        abi.emit_c_code('x.c')
    with pytest.raises(TypeError):
        abi.distutils_extension()


def test_emit_c_code_writes_the_module_source(tmp_path):
    ffi = make_ffi()
    ffi.set_source("_rcffi_c_source", "")
    ffi.emit_c_code(str(tmp_path / 'x.c'))
    text = (tmp_path / 'x.c').read_text()
    assert '_cffi_type_context' in text
    assert 'PyInit__rcffi_c_source' in text


def test_apply_embedding_fix():
    libname = 'python%d.%d' % sys.version_info[:2]
    libname += (sysconfig.get_config_var('DEBUG_EXT') or '')
    libname += getattr(sys, 'abiflags', '')
    kwds = {'libraries': ['m']}
    FFI._apply_embedding_fix(make_ffi(), kwds)
    assert kwds == {'libraries': ['m', libname]}
    FFI._apply_embedding_fix(make_ffi(), kwds)        # idempotent
    assert kwds == {'libraries': ['m', libname]}
    kwds = {}
    make_ffi()._apply_embedding_fix(kwds)
    assert kwds['libraries'] == [libname]


def test_pkgconfig_merge_flags():
    from rcffi import pkgconfig
    a = {'libraries': ['m']}
    pkgconfig.merge_flags(a, {'libraries': ['z'], 'include_dirs': ['/i']})
    assert a == {'libraries': ['m', 'z'], 'include_dirs': ['/i']}
    with pytest.raises(TypeError):
        pkgconfig.merge_flags(a, {'libraries': 'z'})


def test_pkgconfig_missing_package(monkeypatch):
    from rcffi import pkgconfig
    monkeypatch.setenv('PKG_CONFIG', 'rcffi-no-such-pkg-config-program')
    with pytest.raises(rcffi.PkgConfigError):
        pkgconfig.flags_from_pkgconfig(['zlib'])


# ------------------------------------------ compiling through the tool chain

MINI_MODULE = r'''
#include <Python.h>
static PyObject *answer(PyObject *self, PyObject *noargs)
{
    return PyLong_FromLong(42);
}
static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};
static struct PyModuleDef def = {
    PyModuleDef_HEAD_INIT, "%(name)s", NULL, -1, methods
};
PyMODINIT_FUNC PyInit_%(name)s(void) { return PyModule_Create(&def); }
'''


def hostile_project_dir(base):
    """A current directory holding a project that setuptools would refuse
    to build (pyproject.toml with [project], several top-level packages)."""
    proj = base / 'project'
    for pkg in ('a', 'b'):
        (proj / pkg).mkdir(parents=True)
        (proj / pkg / '__init__.py').write_text('')
    (proj / 'pyproject.toml').write_text(
        '[project]\nname = "hostile"\nversion = "1"\n')
    return proj


@needs_cc
def test_ffiplatform_compile_and_load(tmp_path, monkeypatch):
    from rcffi import ffiplatform
    from rcffi._imp_emulation import load_dynamic
    # the project in the current directory must not matter
    monkeypatch.chdir(hostile_project_dir(tmp_path))
    name = '_rcffi_test_mini'
    src = tmp_path / (name + '.c')
    src.write_text(MINI_MODULE % {'name': name})
    ext = ffiplatform.get_extension(str(src), name)
    path = ffiplatform.compile(str(tmp_path), ext)
    assert os.path.isabs(path) and os.path.exists(path)
    mod = load_dynamic(name, path)
    assert mod.answer() == 42


@needs_cc
def test_ffiplatform_compile_error(tmp_path):
    from rcffi import ffiplatform
    src = tmp_path / '_rcffi_broken.c'
    src.write_text('this is not C;\n')
    ext = ffiplatform.get_extension(str(src), '_rcffi_broken')
    with pytest.raises(rcffi.VerificationError) as e:
        ffiplatform.compile(str(tmp_path), ext)
    assert str(e.value).startswith('CompileError: ')


@pytest.fixture
def fake_generator(monkeypatch):
    """Replace the (not yet written) source generator by one that emits a
    trivial module, to exercise everything around it."""
    from rcffi import recompiler
    calls = []

    def generate(ffi, kind, module_name, preamble):
        calls.append((kind, module_name))
        if kind == 'py':
            return 'ANSWER = 42\n'
        return MINI_MODULE % {'name': module_name.rpartition('.')[2]}
    monkeypatch.setattr(recompiler, '_generate', generate)
    return calls


@needs_cc
def test_compile_api_mode_plumbing(tmp_path, fake_generator):
    from rcffi._imp_emulation import load_dynamic
    ffi = make_ffi()
    ffi.set_source('_rcffi_plumb', '/* preamble */')
    path = ffi.compile(tmpdir=str(tmp_path))
    assert os.path.basename(path).startswith('_rcffi_plumb.')
    assert (tmp_path / '_rcffi_plumb.c').exists()
    assert load_dynamic('_rcffi_plumb', path).answer() == 42
    assert fake_generator == [('c', '_rcffi_plumb')]


@needs_cc
def test_compile_with_target(tmp_path, fake_generator):
    from setuptools.command.build_ext import build_ext
    before = build_ext.__dict__.get('get_ext_filename')
    ffi = make_ffi()
    ffi.set_source('_rcffi_target', '')
    path = ffi.compile(tmpdir=str(tmp_path), target='libfoo.*')
    assert os.path.basename(path) == 'libfoo.so'
    assert os.path.exists(path)
    assert build_ext.__dict__.get('get_ext_filename') is before   # undone


def test_abi_mode_plumbing(tmp_path, fake_generator):
    ffi = make_ffi()
    ffi.set_source('pkg._rcffi_abi', None)
    path = ffi.compile(tmpdir=str(tmp_path))
    assert path == os.path.join(str(tmp_path), 'pkg', '_rcffi_abi.py')
    with open(path) as f:
        assert f.read() == 'ANSWER = 42\n'
    buf = io.StringIO()
    ffi.emit_python_code(buf)               # file-like objects work too
    assert buf.getvalue() == 'ANSWER = 42\n'


def test_emit_only_writes_on_change(tmp_path, fake_generator):
    ffi = make_ffi()
    ffi.set_source('_rcffi_emit', '')
    target = tmp_path / 'out.c'
    ffi.emit_c_code(str(target))
    first = target.stat().st_mtime_ns
    os.utime(str(target), ns=(first - 10**9, first - 10**9))
    ffi.emit_c_code(str(target))
    assert target.stat().st_mtime_ns == first - 10**9     # untouched


@needs_cc
def test_distutils_extension(tmp_path, fake_generator):
    ffi = make_ffi()
    ffi.set_source('_rcffi_ext', '', libraries=['m'])
    ext = ffi.distutils_extension(tmpdir=str(tmp_path), verbose=False)
    assert ext.name == '_rcffi_ext'
    assert ext.libraries == ['m']
    assert ext.sources == [os.path.join(str(tmp_path), '_rcffi_ext.c')]
    assert os.path.exists(ext.sources[0])


# ---------------------------------------------------------- setuptools_ext

BUILD_SCRIPT = '''
from rcffi.api import FFI
ffibuilder = FFI()
ffibuilder.set_source(%(name)r, %(source)r)

def make():
    return ffibuilder

not_an_ffi = 42
'''


def write_build_script(tmp_path, name, source):
    path = tmp_path / ('build_%s.py' % (name,))
    path.write_text(BUILD_SCRIPT % {'name': name, 'source': source})
    return str(path)


def test_set_py_limited_api(monkeypatch):
    import setuptools
    from setuptools import Extension
    from rcffi.setuptools_ext import _set_py_limited_api
    expected = not hasattr(sys, 'gettotalrefcount') and \
        not sysconfig.get_config_var('Py_GIL_DISABLED')
    monkeypatch.setattr(setuptools, '__version__', '26.0.0')
    assert _set_py_limited_api(Extension, {}).get('py_limited_api',
                                                  False) == expected
    monkeypatch.setattr(setuptools, '__version__', '25.0')
    assert _set_py_limited_api(Extension, {}) == {}
    monkeypatch.setattr(setuptools, '__version__', 'development')
    assert _set_py_limited_api(Extension, {}).get('py_limited_api',
                                                  False) == expected
    assert _set_py_limited_api(Extension, {'py_limited_api': False}) == \
        {'py_limited_api': False}


def test_cffi_modules_is_idempotent(tmp_path):
    from setuptools import Distribution
    from rcffi.setuptools_ext import cffi_modules
    script = write_build_script(tmp_path, '_rcffi_sx', '/* C */')
    dist = Distribution({'name': 'x'})
    cffi_modules(dist, 'cffi_modules', [script + ':ffibuilder'])
    cffi_modules(dist, 'cffi_modules', [script + ':ffibuilder'])
    assert [e.name for e in dist.ext_modules] == ['_rcffi_sx']
    build_ext = dist.cmdclass['build_ext']
    assert build_ext.__name__ == 'build_ext_make_mod'
    assert build_ext.__mro__[1].__name__ == 'build_ext'   # wrapped once


def test_cffi_modules_abi_mode_and_factory(tmp_path):
    from setuptools import Distribution
    from rcffi.setuptools_ext import cffi_modules
    script = write_build_script(tmp_path, '_rcffi_sx_abi', None)
    dist = Distribution({'name': 'x'})
    cffi_modules(dist, 'cffi_modules', script + ':make')
    assert not dist.ext_modules
    assert dist.cmdclass['build_py'].__name__ == 'build_py_make_mod'


@pytest.mark.parametrize("spec, message", [
    ("no_colon_here.py", "must be of the form"),
    ("missing_file.py:ffi", "does not name an existing file"),
    ("{script}:nothing", "not found in module"),
    ("{script}:not_an_ffi", "is not an FFI instance"),
])
def test_cffi_modules_errors(tmp_path, spec, message):
    from setuptools import Distribution
    from distutils.errors import DistutilsSetupError
    from rcffi.setuptools_ext import cffi_modules
    script = write_build_script(tmp_path, '_rcffi_err', '')
    with pytest.raises(DistutilsSetupError) as e:
        cffi_modules(Distribution({'name': 'x'}), 'cffi_modules',
                     [spec.format(script=script)])
    assert message in str(e.value)


def test_cffi_modules_without_set_source(tmp_path):
    from setuptools import Distribution
    from distutils.errors import DistutilsSetupError
    from rcffi.setuptools_ext import cffi_modules
    script = tmp_path / 'b.py'
    script.write_text('from rcffi.api import FFI\nffi = FFI.__new__(FFI)\n')
    with pytest.raises(DistutilsSetupError) as e:
        cffi_modules(Distribution({'name': 'x'}), 'cffi_modules',
                     [str(script) + ':ffi'])
    assert 'set_source() method was not called' in str(e.value)


def entry_point_registered():
    import importlib.metadata as md
    return any(ep.name == 'cffi_modules' and ep.value.startswith('rcffi.')
               for ep in md.entry_points(group='distutils.setup_keywords'))


@needs_cc
@pytest.mark.skipif(not entry_point_registered(),
                    reason="rcffi is not installed with its entry points")
def test_setup_keyword_builds_an_extension(tmp_path, fake_generator,
                                           monkeypatch):
    """setuptools finds the cffi_modules keyword through rcffi's entry point
    (and, with rcffi installed as cffi, through cffi's too: then the hook
    runs twice) and build_ext generates and compiles the module."""
    from setuptools import Distribution
    from rcffi._imp_emulation import load_dynamic
    monkeypatch.chdir(tmp_path)
    script = write_build_script(tmp_path, '_rcffi_kw', '/* C */')
    dist = Distribution({'name': 'kw', 'cffi_modules': [script + ':ffibuilder'],
                         'script_args': ['build_ext',
                                         '--build-lib', str(tmp_path / 'lib'),
                                         '--build-temp',
                                         str(tmp_path / 'tmp')]})
    assert [e.name for e in dist.ext_modules] == ['_rcffi_kw']
    dist.parse_command_line()
    dist.run_commands()
    [built] = os.listdir(str(tmp_path / 'lib'))
    assert built.startswith('_rcffi_kw.')
    mod = load_dynamic('_rcffi_kw', str(tmp_path / 'lib' / built))
    assert mod.answer() == 42
    assert (tmp_path / 'tmp' / '_rcffi_kw.c').exists()
