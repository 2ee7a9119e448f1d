"""API mode: ffibuilder.set_source(name, "<C code>") + compile() builds a C
extension module that follows upstream cffi's out-of-line module protocol.

The generated module is imported in a subprocess by the system python3 with
upstream cffi's _cffi_backend (and without rcffi on the path): a module that
upstream's runtime loads and runs is correct by the protocol.  The Rust side
(crates/recompiler/tests/c_source.rs) checks the generator on its own.
"""

import subprocess
import sys
import textwrap

import pytest

import upstream_python as upstream_python_
from rcffi.api import FFI


CDEF = """
    int add(int, int);
    double half(double);
    int sum(int *p, int n);
    #define FORTY_TWO 42
    #define SECRET ...
    extern int counter;
    typedef int... myint_t;
    myint_t twice(myint_t);
    struct partial { int b; ...; };
    enum flags { F_A = 1, F_B = 2, ... };
"""

SOURCE = """
    int add(int a, int b) { return a + b; }
    double half(double d) { return d / 2; }
    int sum(int *p, int n) { int s = 0; while (n--) s += p[n]; return s; }
    #define FORTY_TWO 42
    #define SECRET 1234
    int counter = 5;
    typedef short myint_t;
    myint_t twice(myint_t v) { return v * 2; }
    struct partial { char a; int b; double c; };
    enum flags { F_Z, F_A = 1, F_B = 2, F_C = 4 };
"""

CHECK = """
    import sys
    sys.path.insert(0, '.')
    from _rcffi_api_c import ffi, lib
    assert lib.add(2, 3) == 5
    assert lib.half(3.0) == 1.5
    assert lib.sum([1, 2, 3], 3) == 6
    assert lib.FORTY_TWO == 42 and lib.SECRET == 1234
    assert lib.counter == 5
    lib.counter = 7
    assert lib.counter == 7
    assert ffi.sizeof('myint_t') == 2 and lib.twice(21) == 42
    assert ffi.sizeof('struct partial') == 16
    assert ffi.offsetof('struct partial', 'b') == 4
    assert lib.F_B == 2
    print('OK')
"""


def test_emit_c_code_writes_the_tables(tmp_path):
    ffi = FFI()
    ffi.cdef("int add(int, int);")
    ffi.set_source("_rcffi_api_c_emit", "int add(int a, int b) "
                   "{ return a + b; }")
    target = tmp_path / 'x.c'
    ffi.emit_c_code(str(target))
    text = target.read_text()
    assert '_CFFI_OP(_CFFI_OP_CPYTHON_BLTN_V, 0), (void *)_cffi_d_add' in text
    assert 'PyInit__rcffi_api_c_emit' in text


def test_compiled_module_runs_on_upstream_runtime(tmp_path):
    exe = upstream_python_.find(same_version=True)
    if exe is None:
        pytest.skip("no python3 of this version with upstream cffi 2.0.0")
    env = upstream_python_.clean_env()
    ffi = FFI()
    ffi.cdef(textwrap.dedent(CDEF))
    ffi.set_source("_rcffi_api_c", textwrap.dedent(SOURCE))
    ffi.compile(tmpdir=str(tmp_path))
    (tmp_path / 'check.py').write_text(textwrap.dedent(CHECK))
    out = subprocess.run([exe, 'check.py'], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and 'OK' in out.stdout, out.stderr
