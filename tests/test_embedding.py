"""Embedding (seed 003, chapter 9 "Using CFFI for embedding", and s5.3):
ffibuilder.embedding_api() + embedding_init_code() + compile() make a shared
library that a C program links with; its first call starts Python and runs
the init code, whose @ffi.def_extern() functions implement the exported C
functions.

Each test builds the library with rcffi, compiles a small C program with gcc
against it and runs it.  The Python that the program starts is this one's
libpython; it finds rcffi through PYTHONPATH, with a ``_cffi_backend``
module that is rcffi's (what ``python -m rcffi install-as-cffi`` does for an
environment).  Upstream's own embedding tests (testing/embedding, threads
included) run in the conformance ratchet (tests/upstream).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import rcffi
from rcffi import FFI, VerificationError

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None,
                                reason="no gcc")


@pytest.fixture(scope="module")
def libpython_links(tmp_path_factory):
    """Skip unless a library that embeds Python links here (it needs the
    shared libpython)."""
    d = tmp_path_factory.mktemp("embed_probe")
    ffi = FFI()
    ffi.embedding_api("int probe(int);")
    ffi.set_source("_rcffi_embed_probe", "")
    try:
        ffi.compile(tmpdir=str(d))
    except VerificationError as e:
        pytest.skip("cannot link with libpython: %s" % (e,))


@pytest.fixture
def workdir(tmp_path, libpython_links):
    return tmp_path


def embedded_env(workdir):
    """The environment for a program whose embedded Python must use rcffi:
    PYTHONPATH with a _cffi_backend that is rcffi's, then rcffi itself;
    the library directories; unbuffered output (nobody finalizes the
    embedded interpreter, so buffered prints would be lost)."""
    shim = workdir / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "_cffi_backend.py").write_text(
        "import rcffi._alias\n"
        "rcffi._alias._init_shim_backend(__name__)\n")
    rcffi_parent = os.path.dirname(os.path.dirname(rcffi.__file__))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(shim), rcffi_parent])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [
        str(workdir), sysconfig.get_config_var("LIBDIR"),
        os.environ.get("LD_LIBRARY_PATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def build_program(workdir, c_source, objects, name="main", extra=()):
    """Compile 'c_source' into the executable 'name', linked with the files
    'objects' (shared libraries or C files)."""
    (workdir / (name + ".c")).write_text(textwrap.dedent(c_source))
    cmd = (["gcc", "-o", name, name + ".c", "-I", str(workdir)]
           + [str(o) for o in objects] + list(extra))
    subprocess.run(cmd, cwd=str(workdir), check=True)
    return str(workdir / name)


def run(workdir, program):
    return subprocess.run([program], cwd=str(workdir), env=embedded_env(workdir),
                          capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- the seed

PLUGIN_H = """\
/* file plugin.h */
typedef struct { int x, y; } point_t;
extern int do_stuff(point_t *);
"""

PLUGIN_H_WINDOWS_FRIENDLY = """\
/* file plugin.h, Windows-friendly version */
typedef struct { int x, y; } point_t;

#ifndef CFFI_DLLEXPORT
# if defined(_MSC_VER)
#   define CFFI_DLLEXPORT extern __declspec(dllimport)
# else
#   define CFFI_DLLEXPORT extern
# endif
#endif
CFFI_DLLEXPORT int do_stuff(point_t *);
"""

PLUGIN_MAIN = """\
    #include <stdio.h>
    #include "plugin.h"

    int main(void)
    {
        point_t p = { 40, 2 };
        int result = do_stuff(&p);
        printf("do_stuff() returned %d\\n", result);
        return 0;
    }
"""


def build_seed_plugin(workdir, plugin_h):
    """plugin_build.py of seed 003 s9.1, run from 'workdir'."""
    (workdir / "plugin.h").write_text(plugin_h)
    ffibuilder = FFI()
    with open(str(workdir / "plugin.h")) as f:
        # read plugin.h and pass it to embedding_api(), manually
        # removing the '#' directives and the CFFI_DLLEXPORT
        data = ''.join([line for line in f if not line.startswith('#')])
        data = data.replace('CFFI_DLLEXPORT', '')
        ffibuilder.embedding_api(data)
    ffibuilder.set_source("my_plugin", r'''
        #include "plugin.h"
    ''', include_dirs=[str(workdir)])
    ffibuilder.embedding_init_code("""
        from my_plugin import ffi

        @ffi.def_extern()
        def do_stuff(p):
            print("adding %d and %d" % (p.x, p.y))
            return p.x + p.y
    """)
    return ffibuilder.compile(tmpdir=str(workdir), target="plugin-1.5.*",
                              verbose=False)


@pytest.mark.parametrize("plugin_h", [PLUGIN_H, PLUGIN_H_WINDOWS_FRIENDLY],
                         ids=["plain", "windows-friendly"])
def test_seed_plugin_do_stuff(workdir, plugin_h):
    dll = build_seed_plugin(workdir, plugin_h)
    assert os.path.basename(dll) == "plugin-1.5.so"
    program = build_program(workdir, PLUGIN_MAIN, [dll])
    out = run(workdir, program)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "adding 40 and 2\ndo_stuff() returned 42\n"
    assert out.stderr == ""


def test_seed_plugin_emit_c_code_static_link(workdir):
    """'ffibuilder.emit_c_code("my_plugin.c")': the C file, compiled into
    the program itself (static linking), works the same."""
    (workdir / "plugin.h").write_text(PLUGIN_H)
    ffibuilder = FFI()
    ffibuilder.embedding_api("typedef struct { int x, y; } point_t;\n"
                             "int do_stuff(point_t *);")
    ffibuilder.set_source("my_plugin", '#include "plugin.h"\n')
    ffibuilder.embedding_init_code("""
        from my_plugin import ffi, lib

        @ffi.def_extern()
        def do_stuff(p):
            return p.x * p.y
    """)
    c_file = str(workdir / "my_plugin.c")
    ffibuilder.emit_c_code(c_file)
    text = open(c_file).read()
    assert "CFFI_DLLEXPORT int do_stuff(" in text
    assert "#define _CFFI_USE_EMBEDDING" in text
    libname = "python%d.%d%s" % (sys.version_info[:2]
                                 + (getattr(sys, "abiflags", ""),))
    program = build_program(
        workdir, PLUGIN_MAIN, [c_file],
        extra=["-I", sysconfig.get_paths()["include"],
               "-L", sysconfig.get_config_var("LIBDIR"), "-l" + libname])
    out = run(workdir, program)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "do_stuff() returned 80\n"


# ------------------------------------------------ the rest of chapter 9

def build_dll(workdir, name, api, init_code, source="", cdef=None):
    ffi = FFI()
    if cdef is not None:
        ffi.cdef(cdef)
    if api is not None:
        ffi.embedding_api(api)
    if init_code is not None:
        ffi.embedding_init_code(init_code)
    ffi.set_source(name, source)
    return ffi.compile(tmpdir=str(workdir))


def test_embedding_and_extending(workdir):
    """s9.8: an exported function written in C (CFFI_DLLEXPORT in
    set_source) calls an extern "Python" function of cdef(); that call
    starts Python."""
    dll = build_dll(workdir, "_rcffi_embext", None, """
        from _rcffi_embext import ffi

        @ffi.def_extern()
        def mycb(x):
            print("hi, I'm called with x =", x)
            return x * 10
    """, source=r"""
        static int mycb(int);

        CFFI_DLLEXPORT int myfunc(int a, int b)
        {
            int product = a * b;
            return mycb(product);
        }
    """, cdef='extern "Python" int mycb(int);')
    assert os.path.basename(dll) == "_rcffi_embext.so"
    program = build_program(workdir, """\
        #include <stdio.h>
        extern int myfunc(int, int);
        int main(void)
        {
            printf("myfunc: %d\\n", myfunc(6, 7));
            return 0;
        }
    """, [dll])
    out = run(workdir, program)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "hi, I'm called with x = 42\nmyfunc: 420\n"


def test_unattached_function_returns_zero(workdir):
    dll = build_dll(workdir, "_rcffi_unattached",
                    "int f(int); void *g(void);", """
        from _rcffi_unattached import ffi

        @ffi.def_extern()
        def f(x):
            return x + 1
    """)
    program = build_program(workdir, """\
        #include <stdio.h>
        extern int f(int);
        extern void *g(void);
        int main(void)
        {
            printf("%d %d\\n", f(41), g() == NULL);
            return 0;
        }
    """, [dll])
    out = run(workdir, program)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "42 1\n"
    assert ("function _rcffi_unattached.g() called, but no code was attached "
            "to it yet with @ffi.def_extern().  Returning 0.") in out.stderr


def test_init_failure_is_reported(workdir):
    dll = build_dll(workdir, "_rcffi_initfail", "int f(int);", """
        import sys
        raise KeyError("no such thing")
    """)
    program = build_program(workdir, """\
        #include <stdio.h>
        extern int f(int);
        int main(void)
        {
            int a = f(1);
            int b = f(2);
            printf("%d %d\\n", a, b);
            return 0;
        }
    """, [dll])
    out = run(workdir, program)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "0 0\n"
    err = out.stderr
    assert "Failed to initialize the Python-CFFI embedding logic" in err
    assert "Traceback" in err and "KeyError: 'no such thing'" in err
    assert "<init code for '_rcffi_initfail'>" in err
    assert "From: _rcffi_initfail" in err and "sys.path: [" in err
    assert ("function _rcffi_initfail.f() called, but initialization code "
            "failed.  Returning 0.") in err


def test_cffi_start_python_and_global_variables(workdir):
    """cffi_start_python() from the user's C code; a global variable of the
    DLL (CFFI_DLLEXPORT in set_source, declared in embedding_api())."""
    dll = build_dll(workdir, "_rcffi_startpy", """
        extern int my_glob;
        int get_glob(void);
    """, """
        from _rcffi_startpy import ffi, lib
        lib.my_glob += 1

        @ffi.def_extern()
        def get_glob():
            return lib.my_glob * 100
    """, source="""
        CFFI_DLLEXPORT int my_glob = 42;

        CFFI_DLLEXPORT int start(void) { return cffi_start_python(); }
    """)
    program = build_program(workdir, """\
        #include <stdio.h>
        extern int my_glob;
        extern int start(void);
        extern int get_glob(void);
        int main(void)
        {
            int before = my_glob;
            int started = start();
            printf("%d %d %d %d\\n", before, started, my_glob, get_glob());
            return 0;
        }
    """, [dll])
    out = run(workdir, program)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "42 0 43 4300\n"


def test_two_dlls_share_one_interpreter(workdir):
    dll_a = build_dll(workdir, "_rcffi_share_a", "int a(void);", """
        import sys
        from _rcffi_share_a import ffi
        sys.rcffi_seen = getattr(sys, "rcffi_seen", []) + ["a"]

        @ffi.def_extern()
        def a():
            return len(sys.rcffi_seen)
    """)
    dll_b = build_dll(workdir, "_rcffi_share_b", "int b(void);", """
        import sys
        from _rcffi_share_b import ffi
        sys.rcffi_seen = getattr(sys, "rcffi_seen", []) + ["b"]

        @ffi.def_extern()
        def b():
            return len(sys.rcffi_seen) * 10
    """)
    program = build_program(workdir, """\
        #include <stdio.h>
        extern int a(void), b(void);
        int main(void)
        {
            int x = a();
            int y = b();
            printf("%d %d\\n", x, y);
            return 0;
        }
    """, [dll_a, dll_b])
    out = run(workdir, program)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1 20\n"


def test_import_the_dll_as_a_module(workdir):
    """s9.7: for testing, the DLL is imported as an ordinary module; the
    init code runs at the first call of one of its functions."""
    build_dll(workdir, "_rcffi_as_module", "int twice(int);", """
        import sys
        from _rcffi_as_module import ffi
        sys.rcffi_init_ran = True

        @ffi.def_extern()
        def twice(x):
            return 2 * x
    """)
    script = textwrap.dedent("""\
        import sys
        sys.path.insert(0, '.')
        from _rcffi_as_module import ffi, lib
        print(getattr(sys, 'rcffi_init_ran', False))
        print(lib.twice(21))
        print(getattr(sys, 'rcffi_init_ran', False))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=str(workdir),
                         env=embedded_env(workdir), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "False\n42\nTrue\n", out.stderr


# ------------------------------------------------------ the builder side

def test_embedding_init_code_is_dedented_and_checked():
    ffi = FFI()
    ffi.embedding_init_code("""

        if True:
            x = 1

        y = 2
    """)
    # (the last, blank line is that of the closing quotes)
    assert ffi._embedding == "if True:\n    x = 1\n\ny = 2\n\n"
    with pytest.raises(ValueError):
        ffi.embedding_init_code("pass")
    with pytest.raises(SyntaxError):
        FFI().embedding_init_code("def f(:\n")


def test_embedding_api_declares_exported_functions():
    ffi = FFI()
    ffi.embedding_api("typedef struct { int x, y; } point_t;\n"
                      "int do_stuff(point_t *);")
    assert ffi._embedding == ''
    decls = ffi._parser._declarations
    assert 'dllexport_python do_stuff' in decls
    assert ffi.sizeof("point_t") == 8
