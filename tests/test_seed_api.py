"""Every example of the seed documents that needs API mode or a C compiler
-- ``ffibuilder.set_source()`` + ``compile()``, ``extern "Python"``,
``ffi.verify()``, the out-of-line ABI module generator, the setuptools and
distutils integration -- run against rcffi.  (The ABI-mode and no-compiler
examples are in tests/test_seed_abi.py and tests/test_seed_examples.py,
embedding in tests/test_embedding.py.)

Seed files (in ``shared/seeds/``, not copied here) are cited by number:
``000`` the overview page, ``001`` the getting-started guide, ``002`` the
package cheat sheet, ``003`` the full CFFI 1.13.2 reference (cited with its
section numbers).  Expected values are the documented ones, checked against
upstream cffi 2.0.0; where the docs only say "works", or say something that
cffi 2.0.0 does not do, the test asserts what cffi 2.0.0 does (and says so).

Two ways to run an example:

* In a child process, where the doc gives whole files -- a build script,
  the main program, a setup.py -- and their output: the files are written
  as the doc gives them and run as the doc says (``python
  example_build.py``, ``python setup.py build_ext --inplace``).  The child
  sees rcffi as cffi through a ``cffi`` package and a ``_cffi_backend``
  module put first on PYTHONPATH, which call rcffi's aliasing (the same
  files as ``python -m rcffi install-as-cffi`` writes); C-level stdout
  (``printf``) is checked there too.
* In this process, for the reference sections: the build script's calls
  are made on ``rcffi.FFI`` in a temporary directory and the module is
  imported with ``rcffi.install_as_cffi()`` active and that directory on
  sys.path.  The doc's module names (``_example`` is used by five different
  examples) get a unique ``_seed_api_`` name, as an extension module is
  imported only once per process; modules are shared by module-scoped
  fixtures where the examples of a section fit together.

Libraries that the examples assume to exist (``libpiapprox``, ``libfoo``,
``libsomelib``, ``the_event_library.h``, ``some_library.h``, ``dates.c``)
are written here and compiled with gcc; paths like ``/usr/local/lib`` are
replaced by temporary directories, or the library is made "system-installed"
for the child with CPATH / LIBRARY_PATH / LD_LIBRARY_PATH.  The whole file
is skipped without gcc.  Python-2 spellings (``print x``, ``"hello"`` for a
``char *``) are written the Python-3 way (003 s6.2); other departures from
the doc's text are marked ``doc:`` where they are made.

The examples, in the order of this file:

* 000 "Real example" / 003 s5.2.3 ``getpwuid`` (+ ``get_pw_for_root``),
  and its setup.py with ``cffi_modules``;
* 003 s5.1 ``pi_approx`` from a libpiapprox (shared; static, as s5.1 says
  works too; its setup.py, whose ``"piapprox_build:ffibuilder"`` cffi
  2.0.0 refuses with a hint), s5.2.4 ``pi.c`` / ``pi.h`` with
  ``sources=['pi.c']``;
* 000 / 003 s5.2.5 "Purely for performance" ``foo(int *, int *, int)``;
* 000 / 003 s5.2.6 "Out-of-line, ABI level" (``_simple_example.py``,
  ``printf`` returning 19 and 5.2.1's 17, its setup.py), s5.2.2's
  out-of-line equivalent;
* 003 s8 introduction: ``set_source("package._foo", None)`` and
  ``set_source("package._foo", "real C code")``, out-of-line ``dlopen()``
  needing a file name, ``ffi.dlclose(lib)``, the distutils setup.py with
  ``distutils_extension()``, the setuptools one, s8.5's ``maker``
  function, the two FFI classes and the compiled ``ffi`` / ``lib``;
  s8.10 upgrading from 0.9 (build script, ``verify()`` fallback,
  setup.py);
* 003 s5.2.7 / s8.9 ``ffi.verify()`` (``mysize``, default ``__pycache__``,
  ``CFFI_TMPDIR``, ``set_tmpdir()``, ``cleanup_tmpdir()``, ``tag``,
  ``modulename``, ``relative_to``); s8.3 ``source_extension='.cpp'``,
  ``set_source_pkgconfig()`` and ``PkgConfigError``; s8.4 "Letting the C
  compiler fill the gaps" (all the ``...`` forms, checked exact structs);
  s8.5 ``emit_c_code()`` (compiled by hand), ``emit_python_code()``,
  ``compile()`` (``verbose``, ``debug``, packages, mtime kept),
  ``distutils_extension()``; s8.6 ``include()`` of out-of-line modules;
  s8.7 ``foo_t *const myglob``, ``__thread``, dynamic macros; s8.1
  ``packed`` / ``pack`` in API mode;
* 003 s6.1, s6.3, s6.4, s6.5 in API mode (``lib.foo(40000, 3)``
  OverflowError, ``strlen``, array arguments, struct / union / bitfield
  returns, built-in functions vs ``ffi.addressof()``, variadic
  ``printf``), s7.1.10, s7.1.15 ``malloc`` / ``free`` / ``new_allocator``,
  s7.2.1 ``FILE *``; s7.2 conversions (complex, long double, char16_t /
  char32_t with set_source, struct pointers as lists, the GIL);
* 003 s6.7 extern "Python" (``my_callback``, braces, ``name`` / ``error``
  / ``onerror``), s6.7.1 ``event_cb_register`` with handles and the
  ``Widget`` / ``widget->userdata`` variant, s6.7.2 ``my_algo`` and
  ``&my_event_callback`` from C, s6.7.3 ``extern "Python+C"``; s6.8
  ``c_callback``; s7.1.13 ``MyDocument.process``; s7.1.17 ``init_once``
  with ``_xyz_cffi``; 003 s3 v1.3 ``const`` / ``restrict`` copied;
* 001 "Basic Usage Example" steps 1-5; 002 Recipes 2, 3 (with a drifted
  ``dates.h``), 4, "Version migration guide" (``py_limited_api``),
  "Testing & CI integration", the worked example steps 1-3 (``pip install
  .`` done as ``setup.py build`` + ``install_lib``: pip needs the wheel
  package), FAQ ``process_ints``, ``errno``, "cannot find header",
  static library, ``--strip-all``, "Cdata lifetime".

The setup.py examples are skipped if no installed distribution registers
the ``cffi_modules`` keyword (rcffi does, and the cffi that ``python -m
rcffi install-as-cffi`` makes).  Not run: 002 worked example step 4
(cibuildwheel in CI), the Windows-only parts (003 s6.9, ``set_unicode``),
PyPy notes (003 s6.6), and 003 s9 (embedding, in
tests/test_embedding.py).
"""
import contextlib
import ctypes
import gc
import glob
import importlib
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import threading
import time
import types

import pytest

import rcffi
from rcffi import FFI, PkgConfigError, VerificationError

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None,
                                reason="no gcc")

EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")
RCFFI_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(
    rcffi.__file__)))


# --------------------------------------------------------------------------
# helpers

def write(directory, name, text):
    """Write the dedented 'text' to 'directory'/'name'; returns the path."""
    path = os.path.join(str(directory), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return path


def read(path):
    with open(str(path)) as f:
        return f.read()


@contextlib.contextmanager
def cwd(directory):
    old = os.getcwd()
    os.chdir(str(directory))
    try:
        yield
    finally:
        os.chdir(old)


def load(directory, name):
    """Import the module 'name' (built in 'directory') with rcffi standing in
    for cffi."""
    rcffi.install_as_cffi()
    directory = str(directory)
    sys.path.insert(0, directory)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(directory)


def build(directory, module_name, cdef, source, **kwds):
    """A build script's three calls -- cdef(), set_source(), compile() --
    run in 'directory'; returns the imported module."""
    ffibuilder = FFI()
    ffibuilder.cdef(cdef)
    ffibuilder.set_source(module_name, source, **kwds)
    with cwd(directory):
        ffibuilder.compile()
    return load(directory, module_name)


def run(argv, directory, env=None, check=True):
    proc = subprocess.run(argv, cwd=str(directory), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if check and proc.returncode != 0:
        raise AssertionError("%r failed (%d):\nstdout:\n%s\nstderr:\n%s" % (
            argv, proc.returncode, proc.stdout, proc.stderr))
    return proc


def shared_library(directory, name, c_source, *gcc_args):
    """Compile 'c_source' into 'directory'/lib<name>.so; returns its path."""
    c_file = write(directory, name + ".c", c_source)
    path = os.path.join(str(directory), "lib%s.so" % (name,))
    run(["gcc", "-shared", "-fPIC", "-o", path, c_file] + list(gcc_args),
        directory)
    return path


def static_library(directory, name, c_source):
    """Compile 'c_source' into 'directory'/lib<name>.a (position-independent,
    to be linked into an extension module); returns its path."""
    c_file = write(directory, name + ".c", c_source)
    obj = os.path.join(str(directory), name + ".o")
    path = os.path.join(str(directory), "lib%s.a" % (name,))
    run(["gcc", "-c", "-fPIC", "-o", obj, c_file], directory)
    run(["ar", "rcs", path, obj], directory)
    return path


def extension_files(directory, module_name):
    """The compiled extension modules called 'module_name' in 'directory'."""
    return sorted(glob.glob(os.path.join(str(directory),
                                         module_name + ".*so")))


def _have_cffi_distribution():
    import importlib.metadata
    try:
        importlib.metadata.distribution("cffi")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _cffi_modules_keyword_registered():
    import importlib.metadata
    eps = importlib.metadata.entry_points()
    if hasattr(eps, "select"):
        eps = eps.select(group="distutils.setup_keywords")
    else:                                       # Python < 3.10
        eps = eps.get("distutils.setup_keywords", [])
    return any(ep.name == "cffi_modules" for ep in eps)


def setup_py(text):
    """A setup.py of the docs.  Skips the test if no installed distribution
    registers the ``cffi_modules`` keyword (rcffi does, as does the cffi
    that rcffi installs or upstream's).  Their ``setup_requires=
    ["cffi>=..."]`` would make setuptools try to download cffi if no
    distribution called cffi is installed; the line is left out then."""
    if not _cffi_modules_keyword_registered():
        pytest.skip("no installed distribution registers setup(cffi_modules=)")
    if not _have_cffi_distribution():
        text = "\n".join(line for line in text.splitlines()
                         if "setup_requires" not in line)
    return text


class Child(object):
    """Runs this Python in a directory with rcffi standing in for cffi."""

    def __init__(self, env):
        self.env = env

    def python(self, directory, *args, **kwds):
        extra_env = kwds.pop("extra_env", None)
        env = dict(self.env)
        for key, value in (extra_env or {}).items():
            env[key] = os.pathsep.join(
                [value] + [p for p in [env.get(key)] if p])
        return run([sys.executable] + list(args), directory, env=env, **kwds)


@pytest.fixture(scope="module")
def child(tmp_path_factory):
    shim = tmp_path_factory.mktemp("rcffi_as_cffi")
    write(shim, "cffi/__init__.py", """
        import rcffi._alias
        rcffi._alias._init_shim_package(globals())
    """)
    write(shim, "cffi/RCFFI_SHIM", "{}\n")
    write(shim, "_cffi_backend.py", """
        import rcffi._alias
        rcffi._alias._init_shim_backend(__name__)
    """)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(shim), RCFFI_PARENT] +
        [p for p in [os.environ.get("PYTHONPATH")] if p])
    env.pop("CFFI_TMPDIR", None)
    return Child(env)


class CStdout(object):
    """Redirects file descriptor 1 (C's stdout) to a file; '.text' is what
    was written.  The test flushes C's stdout itself before the block
    ends."""

    _ffi = FFI()
    _ffi.cdef("int fflush(void *);")
    _libc = _ffi.dlopen(None)

    def __init__(self, path):
        self.path = str(path)
        self.text = None

    def __enter__(self):
        sys.stdout.flush()
        self._libc.fflush(self._ffi.NULL)
        self.saved = os.dup(1)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.close(fd)
        return self

    def __exit__(self, *exc):
        self._libc.fflush(self._ffi.NULL)
        os.dup2(self.saved, 1)
        os.close(self.saved)
        self.text = read(self.path)
        return False


def test_children_see_rcffi_as_cffi(child, tmp_path):
    out = child.python(tmp_path, "-c", textwrap.dedent("""
        import cffi, _cffi_backend, rcffi
        assert cffi.FFI is rcffi.FFI
        assert _cffi_backend is rcffi._backend
        import cffi.setuptools_ext
        assert cffi.setuptools_ext is rcffi.setuptools_ext
        print(cffi.__version__)
    """))
    assert out.stdout.strip() == "2.0.0"


def generated_by_rcffi(c_file):
    return "rcffi" in read(c_file)


# --------------------------------------------------------------------------
# 000 "Real example (API level, out-of-line)" == 003 s5.2.3 "API Mode,
# calling the C standard library", and its setup.py

EXAMPLE_BUILD_PWD = r'''
# file "example_build.py"

# Note: we instantiate the same 'cffi.FFI' class as in the previous
# example, but call the result 'ffibuilder' now instead of 'ffi';
# this is to avoid confusion with the other 'ffi' object you get below

from cffi import FFI
ffibuilder = FFI()

ffibuilder.set_source("_example",
    r""" // passed to the real C compiler,
        // contains implementation of things declared in cdef()
        #include <sys/types.h>
        #include <pwd.h>

        // We can also define custom wrappers or other functions
        // here (this is an example only):
        static struct passwd *get_pw_for_root(void) {
            return getpwuid(0);
        }
    """,
    libraries=[]) # or a list of libraries to link with
                # (more arguments like setup.py's Extension class:
                # include_dirs=[..], extra_objects=[..], and so on)

ffibuilder.cdef("""
// declarations that are shared between Python and C
struct passwd {
    char *pw_name;
    ...; // literally dot-dot-dot
};
struct passwd *getpwuid(int uid); // defined in <pwd.h>
struct passwd *get_pw_for_root(void); // defined in set_source()
""")

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
'''

EXAMPLE_PWD = '''
from _example import ffi, lib

p = lib.getpwuid(0)
assert ffi.string(p.pw_name) == b'root'
p = lib.get_pw_for_root()
assert ffi.string(p.pw_name) == b'root'
print("ok")
'''


def test_ref_5_2_3_getpwuid(child, tmp_path):
    write(tmp_path, "example_build.py", EXAMPLE_BUILD_PWD)
    out = child.python(tmp_path, "example_build.py")
    # "generate 'source code' into the file _example.c and compile this to
    # a regular C extension module"; verbose=True shows the compiler calls
    assert "gcc" in out.stdout
    c_file = tmp_path / "_example.c"
    assert generated_by_rcffi(c_file)
    assert len(extension_files(tmp_path, "_example")) == 1
    # 003 s5.5: one C file, "the 'C source' part unmodified, followed by
    # some 'magic' C code and declarations derived from the cdef()"
    text = read(c_file)
    start = text.index("// passed to the real C compiler,")
    assert text.index("static struct passwd *get_pw_for_root(void)") > start
    assert text.rindex("get_pw_for_root") > text.index("return getpwuid(0);")

    write(tmp_path, "main.py", EXAMPLE_PWD)
    assert child.python(tmp_path, "main.py").stdout == "ok\n"


# 000's version: set_source() with just the two #includes, no wrapper
def test_overview_real_example_getpwuid(tmp_path):
    ffibuilder = FFI()
    ffibuilder.set_source("_seed_api_pwd",
        r""" // passed to the real C compiler
            #include <sys/types.h>
            #include <pwd.h>
        """,
        libraries=[])   # or a list of libraries to link with
    ffibuilder.cdef("""     // some declarations from the man page
        struct passwd {
            char *pw_name;
            ...;     // literally dot-dot-dot
        };
        struct passwd *getpwuid(int uid);
    """)
    with cwd(tmp_path):
        ffibuilder.compile(verbose=True)
    mod = load(tmp_path, "_seed_api_pwd")
    ffi, lib = mod.ffi, mod.lib

    p = lib.getpwuid(0)
    assert ffi.string(p.pw_name) == b'root'
    # "this works independently of the exact C layout of struct passwd":
    # the compiler gave the size of the whole struct, more than the one
    # field that the cdef declares
    assert ffi.sizeof("struct passwd") > ffi.sizeof("char *")
    assert ffi.typeof(p) is ffi.typeof("struct passwd *")


SETUP_EXAMPLE = '''
from setuptools import setup

setup(
    name="example", version="1.0",          # doc: "..."
    setup_requires=["cffi>=1.0.0"],
    cffi_modules=["example_build.py:ffibuilder"],
    install_requires=["cffi>=1.0.0"],
)
'''


def test_ref_5_2_3_setup_py(child, tmp_path):
    write(tmp_path, "example_build.py", EXAMPLE_BUILD_PWD)
    write(tmp_path, "setup.py", setup_py(SETUP_EXAMPLE))
    child.python(tmp_path, "setup.py", "build_ext", "--inplace")
    # the C file is generated in the build directory, not next to setup.py
    assert not os.path.exists(str(tmp_path / "_example.c"))
    c_files = glob.glob(str(tmp_path / "build" / "temp*" / "_example.c"))
    assert len(c_files) == 1 and generated_by_rcffi(c_files[0])
    built = extension_files(tmp_path, "_example")
    assert len(built) == 1
    # 003 s8.5: with setuptools >= 26 the module is named NAME.abi3.so
    # (Py_LIMITED_API), unless this is a debug build of Python
    if not hasattr(sys, "gettotalrefcount"):
        assert built[0].endswith(".abi3.so")
    write(tmp_path, "main.py", EXAMPLE_PWD)
    assert child.python(tmp_path, "main.py").stdout == "ok\n"


# --------------------------------------------------------------------------
# 003 s5.1 "Main mode of usage": an already-compiled libpiapprox, and
# 003 s5.2.4 "API Mode, calling C sources instead of a compiled library"

PI_C = r'''
/* filename: pi.c*/
# include <stdlib.h>
# include <math.h>

/* Returns a very crude approximation of Pi
   given a int: a number of iteration */
float pi_approx(int n) {

    double i, x, y, sum=0;

    for(i=0; i<n; i++) {

x=rand();
y=rand();

if (sqrt(x*x+y*y) < sqrt((double)RAND_MAX*RAND_MAX))
    sum++; }

return 4*(float)sum/(float)n; }
'''

PI_H = '''
/* filename: pi.h*/
float pi_approx(int n);
'''

PIAPPROX_BUILD = r'''
from cffi import FFI
ffibuilder = FFI()

# cdef() expects a single string declaring the C types, functions and
# globals needed to use the shared object. It must be in valid C syntax.
ffibuilder.cdef("""
    float pi_approx(int n);
""")

# set_source() gives the name of the python extension module to
# produce, and some C source code as a string. This C code needs
# to make the declared functions, types and globals available,
# so it is often just the "#include".
ffibuilder.set_source("_pi_cffi",
    """
    #include "pi.h"    // the C header of the library
    """,
    libraries=['piapprox']) # library name, for the linker

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
'''

PI_CFFI_MAIN = '''
from _pi_cffi import ffi, lib
print(lib.pi_approx(5000))
'''

SETUP_PIAPPROX = '''
from setuptools import setup

setup(
    name="piapprox", version="1.0",         # doc: "..."
    setup_requires=["cffi>=1.0.0"],
    cffi_modules=["piapprox_build:ffibuilder"], # "filename:global"
    install_requires=["cffi>=1.0.0"],
)
'''


@pytest.fixture(scope="module")
def piapprox(tmp_path_factory):
    """The "system-installed" libpiapprox: pi.h in include/, libpiapprox.so
    in lib/, libpiapprox.a (alone) in static/; 'env' makes them known to
    the compiler, the linker and the loader of a child process."""
    root = tmp_path_factory.mktemp("piapprox")
    ns = types.SimpleNamespace(root=root)
    ns.include = str(root / "include")
    ns.lib = str(root / "lib")
    ns.static = str(root / "static")
    write(ns.include, "pi.h", PI_H)
    shared_library(ns.lib, "piapprox", PI_C, "-lm")
    static_library(ns.static, "piapprox", PI_C)
    ns.env = {"CPATH": ns.include, "LIBRARY_PATH": ns.lib,
              "LD_LIBRARY_PATH": ns.lib}
    return ns


def test_ref_5_1_main_mode_of_usage(child, piapprox, tmp_path):
    write(tmp_path, "piapprox_build.py", PIAPPROX_BUILD)
    child.python(tmp_path, "piapprox_build.py", extra_env=piapprox.env)
    # "it should produce _pi_cffi.c ... a copy of the string given in
    # set_source()"
    assert '#include "pi.h"    // the C header of the library' in read(
        tmp_path / "_pi_cffi.c")
    assert len(extension_files(tmp_path, "_pi_cffi")) == 1
    write(tmp_path, "main.py", PI_CFFI_MAIN)
    out = child.python(tmp_path, "main.py", extra_env=piapprox.env)
    assert 3.0 < float(out.stdout) < 3.3


def test_ref_5_1_setup_py(child, piapprox, tmp_path):
    write(tmp_path, "piapprox_build.py", PIAPPROX_BUILD)
    write(tmp_path, "setup.py", setup_py(SETUP_PIAPPROX))
    # as written in the doc, "piapprox_build:ffibuilder" names no file:
    # cffi 2.0.0 refuses it and says how to write it
    out = child.python(tmp_path, "setup.py", "build_ext", "--inplace",
                       extra_env=piapprox.env, check=False)
    assert out.returncode != 0
    assert ("'piapprox_build' does not name an existing file (rewrite "
            "cffi_modules to ['piapprox_build.py:ffibuilder'])"
            in out.stderr + out.stdout)
    write(tmp_path, "setup.py", setup_py(SETUP_PIAPPROX).replace(
        '"piapprox_build:ffibuilder"', '"piapprox_build.py:ffibuilder"'))
    child.python(tmp_path, "setup.py", "build_ext", "--inplace",
                 extra_env=piapprox.env)
    assert len(extension_files(tmp_path, "_pi_cffi")) == 1
    write(tmp_path, "main.py", PI_CFFI_MAIN)
    out = child.python(tmp_path, "main.py", extra_env=piapprox.env)
    assert 3.0 < float(out.stdout) < 3.3


# 003 s5.4: "Other common arguments to set_source() include library_dirs
# and include_dirs"; s5.1: "this method works equally well with a static
# library ... libpiapprox.a"
@pytest.mark.parametrize("kind", ["shared", "static"])
def test_ref_5_1_library_dirs_and_static_library(piapprox, tmp_path, kind):
    libdir = piapprox.lib if kind == "shared" else piapprox.static
    extra = {}
    if kind == "shared":
        extra["runtime_library_dirs"] = [libdir]
    name = "_seed_api_pi_cffi_" + kind
    mod = build(tmp_path, name, "float pi_approx(int n);",
                '#include "pi.h"    // the C header of the library',
                libraries=['piapprox'], include_dirs=[piapprox.include],
                library_dirs=[libdir], **extra)
    assert 3.0 < mod.lib.pi_approx(5000) < 3.3
    with open(extension_files(tmp_path, name)[0], "rb") as f:
        needs_the_so = b"libpiapprox.so" in f.read()
    assert needs_the_so == (kind == "shared")


PI_EXTENSION_BUILD = r'''
from cffi import FFI
ffibuilder = FFI()

ffibuilder.cdef("float pi_approx(int n);")

ffibuilder.set_source("_pi", # name of the output C extension
"""
    #include "pi.h",
""",
    sources=['pi.c'], # includes pi.c as additional sources
    libraries=['m']) # on Unix, link with the math library

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
'''

# doc: 'str(pi_approximation)' in the first assert is a typo for 'approx'
PI_MAIN = '''
from _pi.lib import pi_approx

approx = pi_approx(10)
print(approx)
if GLIBC:
    assert str(approx).startswith("3.")

approx = pi_approx(10000)
assert str(approx).startswith("3.1")
'''


def test_ref_5_2_4_c_sources_instead_of_a_library(child, tmp_path):
    write(tmp_path, "pi.c", PI_C)
    write(tmp_path, "pi.h", PI_H)
    write(tmp_path, "pi_extension_build.py", PI_EXTENSION_BUILD)
    # (the doc's '#include "pi.h",' gets a warning about the extra token)
    child.python(tmp_path, "pi_extension_build.py")
    # "Observe, in the working directory, the generated output files:
    # _pi.c, _pi.o and the compiled C extension"
    assert os.path.exists(str(tmp_path / "_pi.c"))
    assert os.path.exists(str(tmp_path / "_pi.o"))
    assert len(extension_files(tmp_path, "_pi")) == 1
    # pi_approx(10) is 4*k/10: "3." is what glibc's rand() sequence gives a
    # fresh process, hence the child; another libc may give 2.8
    glibc = platform.libc_ver()[0] == "glibc"
    write(tmp_path, "main.py", PI_MAIN.replace("GLIBC", str(glibc)))
    out = child.python(tmp_path, "main.py")
    k = float(out.stdout) * 10 / 4
    assert abs(k - round(k)) < 1e-5 and 0 <= k <= 10


# --------------------------------------------------------------------------
# 000 / 003 s5.2.5 "Purely for performance (API level, out-of-line)"

def test_ref_5_2_5_purely_for_performance(tmp_path):
    ffibuilder = FFI()

    ffibuilder.cdef("int foo(int *, int *, int);")

    ffibuilder.set_source("_seed_api_perf",
    r"""
        static int foo(int *buffer_in, int *buffer_out, int x)
        {
            /* some algorithm that is seriously faster in C than in Python */
            /* doc: the body is left out; this one doubles each item and
               counts the odd ones */
            int i, odd = 0;
            for (i = 0; i < x; i++) {
                buffer_out[i] = 2 * buffer_in[i];
                odd += buffer_in[i] & 1;
            }
            return odd;
        }
    """)

    with cwd(tmp_path):
        ffibuilder.compile(verbose=True)

    # file "example.py"
    mod = load(tmp_path, "_seed_api_perf")
    ffi, lib = mod.ffi, mod.lib

    buffer_in = ffi.new("int[]", 1000)
    # initialize buffer_in here...
    buffer_in[0:1000] = list(range(1000))

    # easier to do all buffer allocations in Python and pass them to C,
    # even for output-only arguments
    buffer_out = ffi.new("int[]", 1000)

    result = lib.foo(buffer_in, buffer_out, 1000)
    assert result == 500
    assert list(buffer_out) == [2 * i for i in range(1000)]


# --------------------------------------------------------------------------
# 000 / 003 s5.2.6 "Out-of-line, ABI level"

SIMPLE_EXAMPLE_BUILD = r'''
# file "simple_example_build.py"

from cffi import FFI

ffibuilder = FFI()
# Note that the actual source is None
ffibuilder.set_source("_simple_example", None)
ffibuilder.cdef("""
    int printf(const char *format, ...);
""")

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
'''

# the doc's main program; then the return value (to stderr, C's stdout
# being buffered differently), and 5.2.1's call through the same module
SIMPLE_EXAMPLE_MAIN = r'''
from _simple_example import ffi

lib = ffi.dlopen(None)      # Unix: open the standard C library
#import ctypes.util         # or, try this on Windows:
#lib = ffi.dlopen(ctypes.util.find_library("c"))

n = lib.printf(b"hi there, number %d\n", ffi.cast("int", 2))

import sys
sys.stderr.write("returned %d\n" % n)
arg = ffi.new("char[]", b"world")
sys.stderr.write("returned %d\n" % lib.printf(b"hi there, %s.\n", arg))
'''

SETUP_SIMPLE_EXAMPLE = '''
from setuptools import setup

setup(
    name="simple_example", version="1.0",   # doc: "..."
    setup_requires=["cffi>=1.0.0"],
    cffi_modules=["simple_example_build.py:ffibuilder"],
    install_requires=["cffi>=1.0.0"],
)
'''


def test_ref_5_2_6_out_of_line_abi(child, tmp_path):
    write(tmp_path, "simple_example_build.py", SIMPLE_EXAMPLE_BUILD)
    child.python(tmp_path, "simple_example_build.py")
    # "Running it once produces _simple_example.py" -- and no C compiler
    assert sorted(os.listdir(str(tmp_path))) == [
        "_simple_example.py", "simple_example_build.py"]
    assert "import _cffi_backend" in read(tmp_path / "_simple_example.py")
    write(tmp_path, "main.py", SIMPLE_EXAMPLE_MAIN)
    out = child.python(tmp_path, "main.py")
    assert out.stdout == "hi there, number 2\nhi there, world.\n"
    assert out.stderr == "returned 19\nreturned 17\n"


def test_ref_5_2_6_setup_py(child, tmp_path):
    write(tmp_path, "simple_example_build.py", SIMPLE_EXAMPLE_BUILD)
    write(tmp_path, "setup.py", setup_py(SETUP_SIMPLE_EXAMPLE))
    child.python(tmp_path, "setup.py", "build")
    assert os.path.isfile(str(tmp_path / "build" / "lib" /
                              "_simple_example.py"))
    assert not os.path.exists(str(tmp_path / "_simple_example.py"))
    child.python(tmp_path, "setup.py", "build_ext", "--inplace")
    assert os.path.isfile(str(tmp_path / "_simple_example.py"))
    write(tmp_path, "main.py", SIMPLE_EXAMPLE_MAIN)
    out = child.python(tmp_path, "main.py")
    assert out.stdout == "hi there, number 2\nhi there, world.\n"


# 000 / 003 s5.2.2: the struct/array example "also admits an out-of-line
# equivalent ... passing None as the second argument to
# ffibuilder.set_source().  Then in the main program you write
# from _simple_example import ffi and then the same content"
def test_ref_5_2_2_out_of_line_struct_array(tmp_path):
    ffibuilder = FFI()
    ffibuilder.set_source("_seed_api_simple_pixels", None)
    ffibuilder.cdef("""
        typedef struct {
            unsigned char r, g, b;
        } pixel_t;
    """)
    with cwd(tmp_path):
        py_file = os.path.abspath(ffibuilder.compile())
    assert py_file == str(tmp_path / "_seed_api_simple_pixels.py")
    with open(str(tmp_path / "data"), "wb") as f:
        f.write(bytes(range(240)) * (800 * 600 * 3 // 240))

    ffi = load(tmp_path, "_seed_api_simple_pixels").ffi
    image = ffi.new("pixel_t[]", 800*600)

    with cwd(tmp_path):
        f = open('data', 'rb')     # binary mode -- important
        f.readinto(ffi.buffer(image))
        f.close()

        image[100].r = 255
        image[100].g = 192
        image[100].b = 128

        f = open('data', 'wb')
        f.write(ffi.buffer(image))
        f.close()
    with open(str(tmp_path / "data"), "rb") as f:
        data = f.read()
    assert data[300:303] == bytes([255, 192, 128])
    assert data[297:300] == bytes([57, 58, 59])
    assert len(data) == 800 * 600 * 3
    assert ffi.typeof(ffi.new("pixel_t[600][800]")) is ffi.typeof(
        "pixel_t[600][800]")


# --------------------------------------------------------------------------
# 003 s8 (introduction) -- the out-of-line ABI and API modes inside a
# package, s5.2.6 / s8.2 "this ffi.dlopen() ... must be a path name",
# ffi.dlclose(lib), the distutils and setuptools setup.py

LIBFOO_C = r'''
int foo(int x) { return x + 1; }
int foo_twice(int x) { return 2 * x; }
'''


@pytest.fixture(scope="module")
def libfoo(tmp_path_factory):
    # with a soname, which ctypes.util.find_library() wants
    return shared_library(tmp_path_factory.mktemp("libfoo"), "seedfoo",
                          LIBFOO_C, "-Wl,-soname,libseedfoo.so")


PACKAGE_FOO_BUILD_ABI = r'''
# in a separate file "package/foo_build.py"
import cffi

ffibuilder = cffi.FFI()
ffibuilder.set_source("package._foo", None)
ffibuilder.cdef("int foo_twice(int);")     # doc: "C-like declarations"

if __name__ == "__main__":
    ffibuilder.compile()
'''

PACKAGE_FOO_MAIN_ABI = r'''
from package._foo import ffi
lib = ffi.dlopen("LIBPATH")

# use ffi and lib here
print(lib.foo_twice(21))

# 003 s5.2.6: "ffi.dlopen("libfoo.so") is ok, but ffi.dlopen("foo") is not
# ... you could replace it with ffi.dlopen(ctypes.util.find_library("foo"))"
import ctypes.util
lib2 = ffi.dlopen("libseedfoo.so")
try:
    ffi.dlopen("seedfoo")
except OSError:
    print("no magic")
lib3 = ffi.dlopen(ctypes.util.find_library("seedfoo"))
print(lib2.foo_twice(2), lib3.foo_twice(3))

# 003 s8.2: "the out-of-line FFIs have a method ffi.dlclose(lib)"
ffi.dlclose(lib)
try:
    lib.foo_twice
except ffi.error as e:
    print(e)
'''


def test_ref_8_out_of_line_abi_in_a_package(child, libfoo, tmp_path):
    write(tmp_path, "package/__init__.py", "")
    write(tmp_path, "package/foo_build.py", PACKAGE_FOO_BUILD_ABI)
    child.python(tmp_path, "package/foo_build.py")
    # "Running python foo_build.py produces a file _foo.py"; 003 s3.8.28
    # (v1.1.0, issue #196): in package/, not as 'package._foo.py'
    assert sorted(os.listdir(str(tmp_path / "package"))) == [
        "__init__.py", "_foo.py", "foo_build.py"]
    write(tmp_path, "main.py", PACKAGE_FOO_MAIN_ABI.replace("LIBPATH", libfoo))
    libdir = os.path.dirname(libfoo)
    out = child.python(tmp_path, "main.py", extra_env={
        "LD_LIBRARY_PATH": libdir, "LIBRARY_PATH": libdir})
    assert out.stdout == ("42\nno magic\n4 6\n"
                          "library '%s' has been closed\n" % libfoo)


PACKAGE_FOO_BUILD_API = r'''
# in a separate file "package/foo_build.py"
import cffi

ffibuilder = cffi.FFI()
ffibuilder.set_source("package._foo", r"""int foo(int x) { return x + 1; }""") # <=
ffibuilder.cdef("int foo(int);")     # doc: "C-like declarations with '...'"

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
'''

PACKAGE_FOO_MAIN_API = '''
from package._foo import ffi, lib
# no ffi.dlopen()

# use ffi and lib here
print(lib.foo(41))
'''

SETUP_DISTUTILS = '''
# setup.py (requires CFFI to be installed first)
from distutils.core import setup

import sys; sys.path.insert(0, "package")   # the "sys.path tricks"
import foo_build # possibly with sys.path tricks to find it

setup(
    name="foo", version="1.0",              # doc: ...,
    ext_modules=[foo_build.ffibuilder.distutils_extension()],
)
'''

SETUP_SETUPTOOLS = '''
# setup.py (with automatic dependency tracking)
from setuptools import setup

setup(
    name="foo", version="1.0",              # doc: ...,
    setup_requires=["cffi>=1.0.0"],
    cffi_modules=["package/foo_build.py:ffibuilder"],
    install_requires=["cffi>=1.0.0"],
)
'''


def _package_foo(tmp_path, build_script):
    write(tmp_path, "package/__init__.py", "")
    write(tmp_path, "package/foo_build.py", build_script)
    write(tmp_path, "main.py", PACKAGE_FOO_MAIN_API)


def test_ref_8_out_of_line_api_in_a_package(child, tmp_path):
    _package_foo(tmp_path, PACKAGE_FOO_BUILD_API)
    child.python(tmp_path, "package/foo_build.py")
    # "produces a file _foo.c and invokes the C compiler to turn it into a
    # file _foo.so"
    assert os.path.isfile(str(tmp_path / "package" / "_foo.c"))
    assert len(extension_files(tmp_path / "package", "_foo")) == 1
    assert child.python(tmp_path, "main.py").stdout == "42\n"


def test_ref_8_distutils_setup_py(child, tmp_path):
    if importlib.util.find_spec("distutils") is None:
        pytest.skip("no distutils in this Python")
    _package_foo(tmp_path, PACKAGE_FOO_BUILD_API)
    write(tmp_path, "setup.py", SETUP_DISTUTILS)
    out = child.python(tmp_path, "setup.py", "build_ext", "--inplace")
    # 003 s8.5 distutils_extension(tmpdir='build', verbose=True): "creates
    # the .c file if needed in the given tmpdir"
    c_file = tmp_path / "build" / "package" / "_foo.c"
    assert generated_by_rcffi(c_file)
    assert str(os.path.join("build", "package", "_foo.c")) in out.stderr
    assert len(extension_files(tmp_path / "package", "_foo")) == 1
    assert child.python(tmp_path, "main.py").stdout == "42\n"


@pytest.mark.parametrize("mode", ["api", "abi"])
def test_ref_8_setuptools_setup_py(child, libfoo, tmp_path, mode):
    if mode == "api":
        _package_foo(tmp_path, PACKAGE_FOO_BUILD_API)
    else:
        _package_foo(tmp_path, PACKAGE_FOO_BUILD_ABI)
        write(tmp_path, "main.py", PACKAGE_FOO_MAIN_ABI.replace(
            "LIBPATH", libfoo).split("\n# 003 s5.2.6")[0])
    write(tmp_path, "setup.py", setup_py(SETUP_SETUPTOOLS))
    child.python(tmp_path, "setup.py", "build_ext", "--inplace")
    if mode == "api":
        assert len(extension_files(tmp_path / "package", "_foo")) == 1
    else:
        assert os.path.isfile(str(tmp_path / "package" / "_foo.py"))
    assert child.python(tmp_path, "main.py").stdout == "42\n"


# 003 s8.5: "You can also say ffi_modules=["path/to/foo_build.py:maker"],
# where maker names a global function; it is called with no argument and
# is supposed to return a FFI object" (doc: the keyword is cffi_modules)
def test_ref_8_5_cffi_modules_maker_function(child, tmp_path):
    write(tmp_path, "foo_build.py", r'''
        import cffi

        def maker():
            ffibuilder = cffi.FFI()
            ffibuilder.cdef("int foo(int);")
            ffibuilder.set_source("_foo_made",
                                  "int foo(int x) { return x + 1; }")
            return ffibuilder
    ''')
    write(tmp_path, "setup.py", setup_py('''
        from setuptools import setup

        setup(
            name="foo", version="1.0",
            setup_requires=["cffi>=1.0.0"],
            cffi_modules=["foo_build.py:maker"],
            install_requires=["cffi>=1.0.0"],
        )
    '''))
    child.python(tmp_path, "setup.py", "build_ext", "--inplace")
    out = child.python(tmp_path, "-c",
                       "from _foo_made import lib; print(lib.foo(1))")
    assert out.stdout == "2\n"


# --------------------------------------------------------------------------
# 003 s8.10 "Upgrading from CFFI 0.9 to CFFI 1.0": the build script that
# works with both, the main program's verify() fallback, the setup.py

UPGRADE_FOO_BUILD = r"""
# in a separate file "package/foo_build.py"
import cffi

ffi = cffi.FFI()
C_HEADER_SRC = r'''
#include "somelib.h"
'''
C_KEYWORDS = dict(libraries=['somelib'])

if hasattr(ffi, 'set_source'):
    ffi.set_source("package._foo", C_HEADER_SRC, **C_KEYWORDS)

ffi.cdef('''
    int foo(int);
''')

if __name__ == "__main__":
    ffi.compile()
"""

UPGRADE_MAIN = '''
try:
    from package._foo import ffi, lib
except ImportError:
    from package.foo_build import ffi, C_HEADER_SRC, C_KEYWORDS
    lib = ffi.verify(C_HEADER_SRC, **C_KEYWORDS)

import sys
print(lib.foo(41), "package._foo" in sys.modules)
'''

UPGRADE_SETUP = '''
import sys
from setuptools import setup

if '_cffi_backend' in sys.builtin_module_names:   # PyPy
    import _cffi_backend
    requires_cffi = "cffi==" + _cffi_backend.__version__
else:
    requires_cffi = "cffi>=1.0.0"

if requires_cffi.startswith("cffi==0."):
    # backward compatibility: we have "cffi==0.*"
    from package.foo_build import ffi
    extra_args = dict(
        ext_modules=[ffi.verifier.get_extension()],
        ext_package="...", # if needed
    )
else:
    extra_args = dict(
        setup_requires=[requires_cffi],
        cffi_modules=['package/foo_build.py:ffi'],
    )
setup(
    name="foo", version="1.0",              # doc: name=..., ...,
    install_requires=[requires_cffi],
    **extra_args
)
'''


def test_ref_8_10_upgrading_from_0_9(child, tmp_path):
    somelib = tmp_path / "somelib"
    write(somelib, "somelib.h", "int foo(int);\n")
    shared_library(somelib, "somelib", "int foo(int x) { return x + 1; }\n")
    env = {"CPATH": str(somelib), "LIBRARY_PATH": str(somelib),
           "LD_LIBRARY_PATH": str(somelib)}
    project = tmp_path / "project"
    write(project, "package/__init__.py", "")
    write(project, "package/foo_build.py", UPGRADE_FOO_BUILD)
    write(project, "main.py", UPGRADE_MAIN)
    # not generated yet: the verify() route, which compiles into
    # __pycache__ next to the file that calls verify() (003 s8.9)
    out = child.python(project, "main.py", extra_env=env)
    assert out.stdout == "42 False\n"
    assert glob.glob(str(project / "__pycache__" / "_cffi_*.so"))
    # the build script makes package/_foo, which is used from then on
    child.python(project, "package/foo_build.py", extra_env=env)
    assert len(extension_files(project / "package", "_foo")) == 1
    assert child.python(project, "main.py", extra_env=env).stdout == \
        "42 True\n"
    # and the setup.py, from scratch
    for path in extension_files(project / "package", "_foo"):
        os.unlink(path)
    write(project, "setup.py", setup_py(UPGRADE_SETUP))
    child.python(project, "setup.py", "build_ext", "--inplace",
                 extra_env=env)
    assert len(extension_files(project / "package", "_foo")) == 1
    assert child.python(project, "main.py", extra_env=env).stdout == \
        "42 True\n"


# --------------------------------------------------------------------------
# 003 s5.2.7 "In-line, API level" / s8.9 "ffi.verify(): in-line API-mode"

@pytest.fixture
def verify_tmpdir_state(monkeypatch):
    """verify()'s choice of directory depends on CFFI_TMPDIR and on
    cffi.verifier.set_tmpdir(): both unset here, and restored after."""
    import rcffi.verifier
    monkeypatch.delenv("CFFI_TMPDIR", raising=False)
    monkeypatch.setattr(rcffi.verifier, "_TMPDIR", None)
    rcffi.install_as_cffi()
    import cffi.verifier
    assert cffi.verifier is rcffi.verifier
    return cffi.verifier


# (verify() runs in tmp_path: upstream's setuptools would look at the
# project in the current directory otherwise.  rcffi is installed as cffi
# for the verify() tests, see test_ref_5_2_7_verify_without_install_as_cffi)
def test_ref_5_2_7_verify(tmp_path, monkeypatch):
    rcffi.install_as_cffi()
    monkeypatch.chdir(tmp_path)
    ffi = FFI()
    ffi.cdef("int add(int a, int b);")
    lib = ffi.verify("static int add(int a, int b) { return a + b; }",
                     tmpdir=str(tmp_path))
    assert lib.add(5, 3) == 8
    # 003 s8.9: "makes and compiles a C file from the ffi.cdef(), like
    # ffi.set_source() in API mode, and then immediately loads and returns
    # the dynamic library object"
    assert len(glob.glob(str(tmp_path / "_cffi_*.c"))) == 1
    assert len(glob.glob(str(tmp_path / "_cffi_*.so"))) == 1


# verify() compiles and loads the module itself: it works with rcffi.FFI
# whether or not 'import _cffi_backend' gives rcffi (here: it gives nothing;
# with upstream cffi installed it gives upstream's backend)
def test_ref_5_2_7_verify_without_install_as_cffi(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "_cffi_backend", None)
    ffi = FFI()
    ffi.cdef("int add(int a, int b);")
    # (a source of its own: a module of the same source, thus of the same
    # name, that another test loaded would be reused)
    lib = ffi.verify("static int add(int a, int b) { return b + a; }",
                     tmpdir=str(tmp_path))
    assert lib.add(5, 3) == 8


def test_ref_8_9_verify_mysize(tmp_path, monkeypatch):
    rcffi.install_as_cffi()
    monkeypatch.chdir(tmp_path)
    # doc: THE_TYPE stands for any type; the C source stays as written
    # and THE_TYPE is given with the 'define_macros' keyword
    ffi = FFI()
    ffi.cdef("const int mysize;")
    lib = ffi.verify("const int mysize = sizeof(THE_TYPE);",
                     define_macros=[("THE_TYPE", "long long")],
                     tmpdir=str(tmp_path))
    assert lib.mysize == 8


def test_ref_8_9_verify_default_tmpdir_and_cleanup(verify_tmpdir_state,
                                                   tmp_path, monkeypatch):
    verifier = verify_tmpdir_state
    monkeypatch.chdir(tmp_path)
    # "the default is directory_containing_the_py_file/__pycache__ using
    # the directory name of the .py file that contains the actual call to
    # ffi.verify()"
    script = write(tmp_path / "mylib", "uses_verify.py", """
        import cffi
        ffi = cffi.FFI()
        ffi.cdef("int twice(int);")
        def make(source):
            return ffi.verify(source)
        lib = make("static int twice(int x) { return 2 * x; }")
    """)
    import runpy
    ns = runpy.run_path(script)
    assert ns["lib"].twice(21) == 42
    pycache = tmp_path / "mylib" / "__pycache__"
    first = glob.glob(str(pycache / "_cffi_*.so"))
    assert len(first) == 1
    # "every time you change the C sources ... the latter will create a
    # new module file name": one more file; the same source again: none
    ns2 = runpy.run_path(script)       # a fresh ffi, the same source
    assert len(glob.glob(str(pycache / "_cffi_*.so"))) == 1
    assert ns2["make"]("static int twice(int x) { return x + x; }"
                       ).twice(4) == 8
    assert len(glob.glob(str(pycache / "_cffi_*.so"))) == 2
    runpy.run_path(script)
    assert len(glob.glob(str(pycache / "_cffi_*.so"))) == 2
    # "add, in your test suite, a call to cffi.verifier.cleanup_tmpdir()"
    verifier.cleanup_tmpdir(str(pycache))
    assert glob.glob(str(pycache / "_cffi_*")) == []

    # "An alternative cache directory can be given as the tmpdir argument
    # to verify(), via the environment variable CFFI_TMPDIR, or by calling
    # cffi.verifier.set_tmpdir(path) prior to calling verify"
    monkeypatch.setenv("CFFI_TMPDIR", str(tmp_path / "from_env"))
    runpy.run_path(script)
    assert len(glob.glob(str(tmp_path / "from_env" / "_cffi_*.so"))) == 1
    verifier.set_tmpdir(str(tmp_path / "from_set_tmpdir"))
    runpy.run_path(script)
    assert len(glob.glob(str(tmp_path / "from_set_tmpdir" /
                             "_cffi_*.so"))) == 1
    assert glob.glob(str(pycache / "_cffi_*")) == []


def test_ref_8_9_verify_arguments(tmp_path, monkeypatch):
    rcffi.install_as_cffi()
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "foo.c", "int twice(int x) { return 2 * x; }\n")
    here = str(tmp_path / "thisfile.py")       # stands for __file__
    # "relative_to ... roughly the same as sources=['/path/to/this/file/
    # foo.c']"; "tag ... _cffi_<tag>_<hash>"
    ffi = FFI()
    ffi.cdef("int twice(int);")
    lib = ffi.verify("int twice(int);", sources=['foo.c'], relative_to=here,
                     tmpdir=str(tmp_path / "t1"), tag="mytag")
    assert lib.twice(21) == 42
    [so] = glob.glob(str(tmp_path / "t1" / "*.so"))
    assert os.path.basename(so).startswith("_cffi_mytag_")
    # "the default name ... is built from the CRC checksum of ... sources
    # ... but not relative_to": another relative_to, the same module name
    ffi = FFI()
    ffi.cdef("int twice(int);")
    ffi.verify("int twice(int);", sources=['foo.c'],
               relative_to=str(tmp_path / "elsewhere.py"),
               tmpdir=str(tmp_path / "t2"), tag="mytag")
    assert [os.path.basename(p) for p in
            glob.glob(str(tmp_path / "t2" / "*.so"))] == [
                os.path.basename(so)]
    # "The modulename argument can be used to force a specific module name"
    ffi = FFI()
    ffi.cdef("int twice(int);")
    lib = ffi.verify("static int twice(int x) { return 2 * x; }",
                     modulename="_seed_api_verified",
                     tmpdir=str(tmp_path / "t3"))
    assert lib.twice(4) == 8
    assert os.path.exists(str(tmp_path / "t3" / "_seed_api_verified.c"))
    assert len(extension_files(tmp_path / "t3", "_seed_api_verified")) == 1


# 003 s8.4: "typedef int... foo_t ... (Note that this requires set_source();
# it does not work with verify().)"
def test_ref_8_4_int_dotdotdot_not_with_verify(tmp_path, monkeypatch):
    rcffi.install_as_cffi()
    monkeypatch.chdir(tmp_path)
    ffi = FFI()
    ffi.cdef("typedef int... foo_t;")
    with pytest.raises(VerificationError) as e:
        ffi.verify("typedef short foo_t;", tmpdir=str(tmp_path))
    assert str(e.value) == ("feature not supported with ffi.verify(), but "
                            "only with ffi.set_source(): 'typedef int... "
                            "foo_t'")


# --------------------------------------------------------------------------
# 003 s8.3 set_source(): source_extension='.cpp', set_source_pkgconfig()

@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler")
def test_ref_8_3_source_extension_cpp(tmp_path):
    ffibuilder = FFI()
    ffibuilder.cdef("int somefunc(int somearg);")
    # doc: real_cpp_func() is not given; a C++ one here
    ffibuilder.set_source("_seed_api_cpp", r'''
    template <typename T> static T real_cpp_func(T x) { return x * 3; }
    extern "C" {
        int somefunc(int somearg) { return real_cpp_func(somearg); }
    }
    ''', source_extension='.cpp')
    with cwd(tmp_path):
        ffibuilder.compile()
    # "The file generated will be actually called module_name +
    # source_extension"
    assert os.path.exists(str(tmp_path / "_seed_api_cpp.cpp"))
    assert not os.path.exists(str(tmp_path / "_seed_api_cpp.c"))
    assert load(tmp_path, "_seed_api_cpp").lib.somefunc(14) == 42


def _pkg_config_knows(name):
    if shutil.which("pkg-config") is None:
        return False
    return subprocess.run(["pkg-config", "--exists", name]).returncode == 0


@pytest.mark.skipif(not _pkg_config_knows("zlib"),
                    reason="needs pkg-config and zlib.pc")
def test_ref_8_3_set_source_pkgconfig(tmp_path):
    ffibuilder = FFI()
    ffibuilder.cdef("const char *zlibVersion(void);")
    ffibuilder.set_source_pkgconfig("_seed_api_zlib", ["zlib"],
                                    "#include <zlib.h>")
    # "It collects the information obtained in this way and adds it to the
    # explicitly-provided **keywords"
    kwds = ffibuilder._assigned_source[3]
    assert "z" in kwds["libraries"]
    with cwd(tmp_path):
        ffibuilder.compile()
    mod = load(tmp_path, "_seed_api_zlib")
    version = subprocess.run(["pkg-config", "--modversion", "zlib"],
                             stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.strip()
    assert mod.ffi.string(mod.lib.zlibVersion()).decode() == version


# "If the pkg-config program is not installed or does not know about the
# requested library, the call fails with ffi.PkgConfigError" (doc: it is
# cffi.PkgConfigError; FFI objects have no such attribute in cffi 2.0.0)
def test_ref_8_3_set_source_pkgconfig_errors(tmp_path, monkeypatch):
    rcffi.install_as_cffi()
    import cffi
    assert cffi.PkgConfigError is PkgConfigError
    if shutil.which("pkg-config") is not None:
        with pytest.raises(PkgConfigError):
            FFI().set_source_pkgconfig("_x", ["no-such-package-for-rcffi"],
                                       "")
    monkeypatch.setenv("PATH", str(tmp_path))      # no pkg-config at all
    with pytest.raises(PkgConfigError):
        FFI().set_source_pkgconfig("_x", ["zlib"], "")
    ffibuilder = FFI()
    # "you can catch this error and try to call set_source() directly"
    try:
        ffibuilder.set_source_pkgconfig("_x", ["zlib"], "")
    except cffi.PkgConfigError:
        ffibuilder.set_source("_x", "", libraries=["z"])
    assert ffibuilder._assigned_source[3] == {"libraries": ["z"]}


# --------------------------------------------------------------------------
# 003 s8.4 "Letting the C compiler fill the gaps"

GAPS_CDEF = r"""
    /* misdeclared integer and floating-point types */
    int takes_long(int);
    float returns_double(float);

    /* a partial struct: fields missing and out of order */
    struct foo_s { int b; char *name; ...; };
    static const int FOO_S_SIZE, FOO_S_OFFSET_NAME, FOO_S_OFFSET_B;

    /* integer and floating-point types of unknown size */
    typedef int... foo_t;
    typedef unsigned long long... count_t;
    typedef float... real_t;
    typedef double... small_real_t;

    /* unknown types */
    typedef ... opaque_t;
    typedef ... *opaque_p;
    typedef struct { ...; } some_t;
    opaque_t *make_opaque(int);
    int read_opaque(opaque_t *);
    opaque_p make_opaque_p(int);
    int read_opaque_p(opaque_p);

    /* array lengths */
    extern int n[...];
    extern int nn[...][...];
    extern int m[][...];
    struct arr_s { int a[...]; ...; };
    typedef int arr_t[...];

    /* enums */
    enum foo { A, B, C, ... };
    enum foo2 { A2=..., B2, C2 };
    enum foo3 { A3=..., B3=..., C3=... };

    /* integer constants and macros */
    #define FOO ...
    static const int FOO2;
    static char *const FOO3;
    static const double FOO4;
"""

GAPS_SOURCE = r"""
    #include <stddef.h>
    long takes_long(long x) { return x * 2; }
    double returns_double(double x) { return x / 4; }

    struct foo_s { double before; int a; char *name; int b; };
    #define FOO_S_SIZE sizeof(struct foo_s)
    #define FOO_S_OFFSET_NAME offsetof(struct foo_s, name)
    #define FOO_S_OFFSET_B offsetof(struct foo_s, b)

    typedef unsigned short foo_t;
    typedef signed char count_t;
    typedef double real_t;
    typedef float small_real_t;

    typedef struct { int hidden[5]; } opaque_t;
    typedef opaque_t *opaque_p;
    typedef struct { int x, y; } some_t;
    static opaque_t the_opaque;
    opaque_t *make_opaque(int x) { the_opaque.hidden[3] = x; return &the_opaque; }
    int read_opaque(opaque_t *p) { return p->hidden[3]; }
    opaque_p make_opaque_p(int x) { return make_opaque(x); }
    int read_opaque_p(opaque_p p) { return p->hidden[3]; }

    int n[7] = { 1, 2, 3, 4, 5, 6, 7 };
    int nn[2][3] = { { 1, 2, 3 }, { 4, 5, 6 } };
    int m[3][4] = { { 0 }, { 0 }, { 0, 0, 0, 42 } };
    struct arr_s { long pad; int a[6]; };
    typedef int arr_t[9];

    enum foo { C = -1, X, A = 10, B = 20 };
    enum foo2 { A2 = 5, B2, C2 };
    enum foo3 { A3 = 3, B3 = 1, C3 = 2 };

    #define FOO 42
    #define FOO2 (-17)
    static char *const FOO3 = "hello";
    #define FOO4 2.5
"""


@pytest.fixture(scope="module")
def gaps(tmp_path_factory):
    return build(tmp_path_factory.mktemp("gaps"), "_seed_api_gaps",
                 GAPS_CDEF, GAPS_SOURCE)


def test_ref_8_4_misdeclared_functions(gaps):
    # "if e.g. a function is declared by cdef() as taking a int, but
    # actually takes a long, then the C compiler handles the difference"
    # ... "but you have to call it with arguments that fit an int"
    lib = gaps.lib
    assert lib.takes_long(21) == 42
    with pytest.raises(OverflowError):
        lib.takes_long(2 ** 31)
    assert lib.returns_double(1.0) == 0.25


def test_ref_8_4_partial_struct(gaps):
    ffi, lib = gaps.ffi, gaps.lib
    assert ffi.sizeof("struct foo_s") == lib.FOO_S_SIZE
    assert ffi.offsetof("struct foo_s", "name") == lib.FOO_S_OFFSET_NAME
    assert ffi.offsetof("struct foo_s", "b") == lib.FOO_S_OFFSET_B
    p = ffi.new("struct foo_s *", {'b': 5})
    assert p.b == 5 and p.name == ffi.NULL
    # "you can only access fields that you declared, not others"
    with pytest.raises(AttributeError):
        p.a


def test_ref_8_4_integer_and_float_types(gaps):
    ffi = gaps.ffi
    # "The type will always map to one of (u)int(8,16,32,64)_t in Python"
    assert ffi.typeof("foo_t") is ffi.typeof("uint16_t")
    assert int(ffi.cast("foo_t", -1)) == 65535
    # "The int... can be replaced with long... or unsigned long long...
    # ... with no effect"
    assert ffi.typeof("count_t") is ffi.typeof("int8_t")
    assert ffi.typeof("real_t") is ffi.typeof("double")
    assert ffi.typeof("small_real_t") is ffi.typeof("float")


def test_ref_8_4_unknown_types(gaps):
    ffi, lib = gaps.ffi, gaps.lib
    # "such an opaque struct has no known size, which prevents some
    # operations from working (mostly like in C)"
    with pytest.raises(ffi.error):
        ffi.sizeof("opaque_t")
    with pytest.raises(TypeError):
        ffi.new("opaque_t *")
    p = lib.make_opaque(7)
    assert ffi.typeof(p) is ffi.typeof("opaque_t *")
    assert lib.read_opaque(p) == 7
    # "typedef ... *foo_p; ... declares the pointer type foo_p without
    # giving a name to the opaque type itself"
    q = lib.make_opaque_p(8)
    assert ffi.typeof(q) is ffi.typeof("opaque_p")
    assert ffi.typeof(q) is not ffi.typeof("opaque_t *")
    assert lib.read_opaque_p(q) == 8
    with pytest.raises(TypeError):
        lib.read_opaque(q)
    # "a struct where you don't know any field"
    assert ffi.sizeof("some_t") == 8
    assert ffi.new("some_t *") != ffi.NULL


def test_ref_8_4_array_lengths(gaps):
    ffi, lib = gaps.ffi, gaps.lib
    assert ffi.typeof(lib.n) is ffi.typeof("int[7]")
    assert list(lib.n) == [1, 2, 3, 4, 5, 6, 7]
    # "This supports multidimensional arrays"
    assert ffi.typeof(lib.nn) is ffi.typeof("int[2][3]")
    assert lib.nn[1][2] == 6
    # "extern int m[][...]; ... the length of every item ... is always
    # known to the C compiler"
    assert ffi.typeof(lib.m) is ffi.typeof("int(*)[4]")
    assert lib.m[2][3] == 42
    assert ffi.typeof(ffi.new("struct arr_s *").a) is ffi.typeof("int[6]")
    # 003 s3.8.8 (v1.10): "typedef int foo_t[...];"
    assert ffi.typeof("arr_t") is ffi.typeof("int[9]")


def test_ref_8_4_enums_and_constants(gaps):
    ffi, lib = gaps.ffi, gaps.lib
    assert (lib.A, lib.B, lib.C) == (10, 20, -1)
    assert ffi.string(ffi.cast("enum foo", 20)) == "B"
    assert (lib.A2, lib.B2, lib.C2) == (5, 6, 7)
    assert (lib.A3, lib.B3, lib.C3) == (3, 1, 2)
    # "#define FOO ... Provided the macro is defined to be an integer
    # value"; "static const int FOO; ... supports other types"
    assert lib.FOO == 42
    assert lib.FOO2 == -17
    assert ffi.string(lib.FOO3) == b"hello"
    assert lib.FOO4 == 2.5


# "Any struct declaration which doesn't use '...' is assumed to be exact,
# but this is checked: you get an error if it is not correct."; "Note that
# if the actual C type is even larger (long double on some platforms),
# then compilation will fail" (cffi 2.0.0: it compiles, and the type gives
# an error when used)
def test_ref_8_4_checked_declarations(tmp_path):
    mod = build(tmp_path, "_seed_api_exact",
                "struct foo_s { int a, b; };",
                "struct foo_s { int a; long c; int b; };")
    with pytest.raises(mod.ffi.error) as e:
        mod.ffi.new("struct foo_s *")
    assert str(e.value) == (
        "struct foo_s: wrong offset for field 'b' (cdef says 4, but C "
        "compiler says 16). fix it or use \"...;\" as the last field in "
        "the cdef for struct foo_s to make it flexible")

    ffibuilder = FFI()
    ffibuilder.cdef("struct bar_s { int a, b; };")
    ffibuilder.set_source("_seed_api_exact_missing",
                          "struct bar_s { int a; };")
    with pytest.raises(VerificationError):
        ffibuilder.compile(tmpdir=str(tmp_path))

    if ctypes.sizeof(ctypes.c_longdouble) > 8:
        mod = build(tmp_path, "_seed_api_exact_ld",
                    "typedef float... real_t;", "typedef long double real_t;")
        with pytest.raises(mod.ffi.error) as e:
            mod.ffi.typeof("real_t")
        assert str(e.value) == (
            "primitive floating-point type is 'long double', not supported "
            "for now with the syntax 'typedef double... xxx;'")


# --------------------------------------------------------------------------
# 003 s8.5 "ffibuilder.compile() etc.: compiling out-of-line modules"

def _emitting_builder(name, source="static int twice(int x) "
                                   "{ return 2 * x; }"):
    ffibuilder = FFI()
    ffibuilder.cdef("int twice(int);")
    ffibuilder.set_source(name, source)
    return ffibuilder


def test_ref_8_5_emit_c_code_and_compile_it_yourself(tmp_path):
    ffibuilder = _emitting_builder("_seed_api_emitted")
    c_file = str(tmp_path / "_seed_api_emitted.c")
    ffibuilder.emit_c_code(c_file)
    text = read(c_file)
    # 003 s8.3: "#include <Python.h> ...c_header_source... ...magic code..."
    # and 003 s8.5: "contains #define Py_LIMITED_API"
    assert "#include <Python.h>" in text
    assert text.index("#include <Python.h>") < text.index(
        "static int twice(int x) { return 2 * x; }")
    assert re.search(r"#\s*define Py_LIMITED_API", text)
    # "won't overwrite a .py/c file with exactly the same content, to
    # preserve the mtime"
    os.utime(c_file, (1000000000, 1000000000))
    _emitting_builder("_seed_api_emitted").emit_c_code(c_file)
    assert os.stat(c_file).st_mtime == 1000000000
    _emitting_builder("_seed_api_emitted",
                      "static int twice(int x) { return x + x; }"
                      ).emit_c_code(c_file)
    assert os.stat(c_file).st_mtime != 1000000000
    # "Can be used if you have some other method to compile it"
    run(["gcc", "-shared", "-fPIC", "-I", sysconfig.get_paths()["include"],
         "-o", "_seed_api_emitted" + EXT_SUFFIX, c_file], tmp_path)
    assert load(tmp_path, "_seed_api_emitted").lib.twice(21) == 42


def test_ref_8_5_emit_python_code(tmp_path):
    ffibuilder = FFI()
    ffibuilder.cdef("typedef struct { int x, y; } point_t;")
    ffibuilder.set_source("_seed_api_emitted_py", None)
    py_file = str(tmp_path / "_seed_api_emitted_py.py")
    ffibuilder.emit_python_code(py_file)
    os.utime(py_file, (1000000000, 1000000000))
    ffibuilder.emit_python_code(py_file)
    assert os.stat(py_file).st_mtime == 1000000000
    ffi = load(tmp_path, "_seed_api_emitted_py").ffi
    assert ffi.sizeof("point_t") == 8
    # ABI-mode modules only, and emit_c_code() API-mode ones only
    with pytest.raises(TypeError):
        ffibuilder.emit_c_code(str(tmp_path / "x.c"))
    with pytest.raises(TypeError):
        _emitting_builder("_x").emit_python_code(str(tmp_path / "x.py"))


def test_ref_8_5_compile(tmp_path, capfd):
    ffibuilder = _emitting_builder("_seed_api_compiled")
    # "The output file is (or are) put in the directory given by tmpdir";
    # verbose=True "prints the usual distutils output, including the
    # command lines that call the compiler"
    path = ffibuilder.compile(tmpdir=str(tmp_path), verbose=True)
    out = capfd.readouterr().out
    assert "gcc" in out and "_seed_api_compiled.c" in out
    assert path == str(tmp_path / ("_seed_api_compiled" + EXT_SUFFIX))
    c_file = str(tmp_path / "_seed_api_compiled.c")
    os.utime(c_file, (1000000000, 1000000000))
    # no verbose: nothing printed; the unchanged .c file is not rewritten
    assert _emitting_builder("_seed_api_compiled").compile(
        tmpdir=str(tmp_path)) == path
    assert capfd.readouterr().out == ""
    assert os.stat(c_file).st_mtime == 1000000000
    assert load(tmp_path, "_seed_api_compiled").lib.twice(4) == 8
    # "debug argument. If set to a bool, it controls whether the C code is
    # compiled in debug mode or not"
    _emitting_builder("_seed_api_compiled_debug").compile(
        tmpdir=str(tmp_path / "debug"), debug=True)
    assert load(tmp_path / "debug",
                "_seed_api_compiled_debug").lib.twice(5) == 10
    # "if a package is specified in the call to set_source(), then a
    # corresponding subdirectory of the tmpdir is used"
    path = _emitting_builder("seed_api_pkg._compiled").compile(
        tmpdir=str(tmp_path / "pkg"))
    assert os.path.dirname(path) == str(tmp_path / "pkg" / "seed_api_pkg")
    assert os.path.isfile(str(tmp_path / "pkg" / "seed_api_pkg" /
                              "_compiled.c"))
    assert load(tmp_path / "pkg",
                "seed_api_pkg._compiled").lib.twice(6) == 12


def test_ref_8_5_distutils_extension(tmp_path, capfd):
    ffibuilder = _emitting_builder("_seed_api_distutils_ext")
    with cwd(tmp_path):
        ext = ffibuilder.distutils_extension()    # tmpdir='build'
    # "creates the .c file if needed in the given tmpdir, and returns a
    # distutils.core.Extension instance"
    assert ext.name == "_seed_api_distutils_ext"
    assert ext.sources == [os.path.join("build",
                                        "_seed_api_distutils_ext.c")]
    assert os.path.isfile(str(tmp_path / ext.sources[0]))
    assert "_seed_api_distutils_ext.c" in capfd.readouterr().err  # verbose
    # and it builds like any Extension
    import setuptools
    dist = setuptools.Distribution({"name": "x", "ext_modules": [ext],
                                    "script_args": ["-q", "build_ext",
                                                    "--inplace"]})
    with cwd(tmp_path):
        dist.parse_command_line()
        dist.run_commands()
    assert load(tmp_path, "_seed_api_distutils_ext").lib.twice(7) == 14


# --------------------------------------------------------------------------
# 003 s8.6 ffi/ffibuilder.include() with out-of-line modules: "importing
# _ffi.so will internally cause _other_ffi.so to be imported"

def test_ref_8_6_include_out_of_line(tmp_path):
    other_ffibuilder = FFI()
    other_ffibuilder.cdef("""
        typedef struct { int x, y; } point_t;
        int point_sum(point_t *);
        extern int other_glob;
        #define OTHER_K 7
    """)
    other_ffibuilder.set_source("_seed_api_other_ffi", """
        typedef struct { int x, y; } point_t;
        int point_sum(point_t *p) { return p->x + p->y; }
        int other_glob = 5;
        #define OTHER_K 7
    """)
    ffibuilder = FFI()
    ffibuilder.include(other_ffibuilder)
    ffibuilder.cdef("point_t *make_point(int, int);")
    ffibuilder.set_source("_seed_api_ffi", """
        typedef struct { int x, y; } point_t;
        static point_t pt;
        point_t *make_point(int x, int y) { pt.x = x; pt.y = y; return &pt; }
    """)
    with cwd(tmp_path):
        other_ffibuilder.compile()
        ffibuilder.compile()
    assert "_seed_api_other_ffi" not in sys.modules
    mod = load(tmp_path, "_seed_api_ffi")
    assert "_seed_api_other_ffi" in sys.modules
    ffi, lib = mod.ffi, mod.lib
    # "You can see on the ffi object (and associated lib objects on the
    # including side) the types and constants declared on the included
    # side.  In API mode, you can also see the functions and global
    # variables directly."
    p = lib.make_point(3, 4)
    assert ffi.typeof(p) is ffi.typeof("point_t *")
    assert ffi.new("point_t *", [1, 2]).y == 2
    assert lib.OTHER_K == 7
    assert lib.point_sum(p) == 7
    assert lib.other_glob == 5
    other = sys.modules["_seed_api_other_ffi"]
    assert other.ffi.typeof("point_t *") is ffi.typeof("point_t *")


# --------------------------------------------------------------------------
# 003 s8.7 "ffi.cdef() limitations": __thread variables, dynamic macros,
# "foo_t *const myglob"

GLOBALS_CDEF = """
    typedef struct { int value; } foo_t;
    foo_t *const myglob;
    extern const foo_t *cglob;
    extern int tlv;
    extern int myvar;
    int get_tlv(void);
    int get_the_var(void);
"""

GLOBALS_SOURCE = """
    typedef struct { int value; } foo_t;
    static foo_t the_foo = { 42 };
    foo_t *const myglob = &the_foo;
    const foo_t *cglob = &the_foo;
    __thread int tlv = 5;
    int get_tlv(void) { return tlv; }
    static int the_var = 77;
    static int *fetchme(void) { return &the_var; }
    #define myvar (*fetchme())
    int get_the_var(void) { return the_var; }
"""


def test_ref_8_7_globals(tmp_path):
    mod = build(tmp_path, "_seed_api_globals", GLOBALS_CDEF, GLOBALS_SOURCE)
    ffi, lib = mod.ffi, mod.lib
    # "foo_t *const myglob; ... a constant"
    assert lib.myglob.value == 42
    with pytest.raises(AttributeError):
        lib.myglob = ffi.NULL
    # "const foo_t *myglob; is a variable; it contains a variable pointer
    # to a constant foo_t"
    other = ffi.new("foo_t *", [43])
    lib.cglob = other
    assert lib.cglob.value == 43
    lib.cglob = lib.myglob
    # "Thread-local variables (__thread) can be accessed"
    lib.tlv = 10
    seen = []

    def in_thread():
        seen.append(lib.tlv)
        lib.tlv = 20
        seen.append((lib.tlv, lib.get_tlv()))
    t = threading.Thread(target=in_thread)
    t.start()
    t.join()
    assert seen == [5, (20, 20)]
    assert (lib.tlv, lib.get_tlv()) == (10, 10)
    # "as well as variables defined as dynamic macros (#define myvar
    # (*fetchme()))"
    assert lib.myvar == 77
    lib.myvar = 3
    assert lib.get_the_var() == 3


# "If the variable cannot in fact be written to in C code ... it will not
# compile": gcc warns (as with cffi 2.0.0), and fails with -Werror
def test_ref_8_7_nonconst_declaration_of_const_variable(tmp_path, capfd):
    def builder(name, **kwds):
        ffibuilder = FFI()
        ffibuilder.cdef("typedef struct { int value; } foo_t; "
                        "extern foo_t *myglob;")
        ffibuilder.set_source(name, """
            typedef struct { int value; } foo_t;
            static foo_t the_foo = { 42 };
            foo_t *const myglob = &the_foo;
        """, **kwds)
        return ffibuilder
    builder("_seed_api_not_const").compile(tmpdir=str(tmp_path))
    assert "-Wdiscarded-qualifiers" in capfd.readouterr().err
    with pytest.raises(VerificationError):
        builder("_seed_api_not_const_werror",
                extra_compile_args=["-Werror=discarded-qualifiers"]
                ).compile(tmpdir=str(tmp_path))
    assert "discarded-qualifiers" in capfd.readouterr().err


# --------------------------------------------------------------------------
# 003 chapter 6 "Using the ffi/lib objects" in API mode: s6.1 pointers, s6.3
# main_like, s6.4 function calls, s6.5 variadic calls, s7.1.10 addressof,
# s7.1.15 malloc/free, s7.2.1 FILE; 002 FAQ (process_ints, errno) and
# "Cdata lifetime"

CALLS_CDEF = r"""
    /* 003 s6.1 */
    int myfunction(char **q);
    const char *last_seen(void);
    void fetch_size(int *x, int *y);
    typedef ... opaque_t;
    void init_stuff(opaque_t **handle);
    int more_stuff(opaque_t *handle);
    void somefunction(int *x);
    /* 003 s6.3 */
    int main_like(int argv, char *argv[]);
    /* 003 s6.4 */
    int foo(short a, int b);
    size_t strlen(const char *);
    int do_something_with_array(int *array);
    struct foo_s { int a, b; };
    struct foo_s function_returning_a_struct(void);
    union u_s { int i; char c[4]; };
    union u_s function_returning_a_union(void);
    struct bits_s { int x:3; int y:5; };
    struct bits_s function_returning_bits(void);
    struct partial_s { int b; ...; };
    struct partial_s function_returning_partial(void);
    int apply_foo(int (*f)(short, int));
    /* 003 s6.5 */
    int printf(const char *format, ...);
    int fflush(FILE *);
    int noargs();
    /* 003 s7.1.10 */
    extern int my_global;
    /* 003 s7.1.15 */
    void *malloc(size_t size);
    void free(void *ptr);
    /* 003 s8.1: const and restrict are copied from the cdef to the
       generated C code */
    void *memcpy(void *restrict dest, const void *restrict src, size_t n);
    /* 003 s7.2.1 */
    FILE *fdopen(int, const char *); // from the C <stdio.h>
    int fclose(FILE *);
    int write_stuff_to_file(FILE *fp);
    /* 002 FAQ and Cdata lifetime */
    int process_ints(int *arr, int n);
    int set_errno(int);
    typedef struct { int a, b; } ctx_t;
    void async_callback(ctx_t *ctx);
    int async_read(void);
    void *foo_alloc(size_t n);
    void foo_free(void *p);
    extern int foo_freed;
"""

CALLS_SOURCE = r"""
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <errno.h>

    static char seen[256];
    const char *last_seen(void) { return seen; }
    int myfunction(char **q) { strcpy(seen, *q); return (int)strlen(*q); }
    void fetch_size(int *x, int *y) { *x = 640; *y = 480; }
    typedef struct { int magic; } opaque_t;
    static opaque_t the_opaque = { 12345 };
    void init_stuff(opaque_t **handle) { *handle = &the_opaque; }
    int more_stuff(opaque_t *handle) { return handle->magic; }
    void somefunction(int *x) { *x = *x * 2 + 1; }

    int main_like(int argc, char *argv[]) {
        int i;
        seen[0] = 0;
        for (i = 0; i < argc; i++) {
            if (i) strcat(seen, " ");
            strcat(seen, argv[i]);
        }
        return argc;
    }

    int foo(short a, int b) { return a * 10 + b; }
    int do_something_with_array(int *array) {
        int i, sum = 0;
        for (i = 0; i < 5; i++) sum += array[i];
        return sum;
    }
    struct foo_s { int a, b; };
    struct foo_s function_returning_a_struct(void) {
        struct foo_s r = { 12, 34 }; return r;
    }
    union u_s { int i; char c[4]; };
    union u_s function_returning_a_union(void) {
        union u_s r; r.i = 0x41424344; return r;
    }
    struct bits_s { int x:3; int y:5; };
    struct bits_s function_returning_bits(void) {
        struct bits_s r = { -2, 11 }; return r;
    }
    struct partial_s { long before; int b; };
    struct partial_s function_returning_partial(void) {
        struct partial_s r = { 1, 99 }; return r;
    }
    int apply_foo(int (*f)(short, int)) { return f(4, 2); }

    int noargs(void) { return 42; }
    int my_global = 7;

    int write_stuff_to_file(FILE *fp) {
        return fputs("stuff written from C\n", fp) >= 0 ? 21 : -1;
    }

    int process_ints(int *arr, int n) {
        int i, sum = 0;
        for (i = 0; i < n; i++) { sum += arr[i]; arr[i] *= 10; }
        return sum;
    }
    int set_errno(int e) { errno = e; return -1; }
    typedef struct { int a, b; } ctx_t;
    static ctx_t *the_ctx;
    void async_callback(ctx_t *ctx) { the_ctx = ctx; }
    int async_read(void) { return the_ctx->a + the_ctx->b; }
    int foo_freed = 0;
    void *foo_alloc(size_t n) { return calloc(1, n); }
    void foo_free(void *p) { foo_freed++; free(p); }
"""


@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    return build(tmp_path_factory.mktemp("calls"), "_seed_api_calls",
                 CALLS_CDEF, CALLS_SOURCE)


def test_ref_6_1_pointers_in_api_mode(calls, capsys):
    ffi, lib = calls.ffi, calls.lib
    p = ffi.new("char[]", b"hello, world")    # p is a 'char *'
    q = ffi.new("char **", p)                  # q is a 'char **'
    lib.myfunction(q)
    # p is alive at least until here, so that's fine
    assert ffi.string(lib.last_seen()) == b"hello, world"

    px = ffi.new("int *")
    py = ffi.new("int *")
    lib.fetch_size(px, py)
    x = px[0]
    y = py[0]
    assert (x, y) == (640, 480)
    arr = ffi.new("int[2]")
    lib.fetch_size(arr, arr + 1)
    assert (arr[0], arr[1]) == (640, 480)

    p_handle = ffi.new("opaque_t **")
    lib.init_stuff(p_handle)  # pass the pointer to the 'handle' pointer
    handle = p_handle[0]     # now we can read 'handle' out of 'p_handle'
    assert lib.more_stuff(handle) == 12345

    # void somefunction(int *);
    x = ffi.new("int *")      # allocate one int, and return a pointer to it
    x[0] = 42                 # fill it
    lib.somefunction(x)      # call the C function
    print(x[0])               # read the possibly-changed value
    assert capsys.readouterr().out == "85\n"


def test_ref_6_3_main_like(calls):
    ffi, lib = calls.ffi, calls.lib
    # "does not work, because the initializer receives two Python str
    # objects where it was expecting <cdata 'char *'> objects"
    with pytest.raises(TypeError):
        lib.main_like(2, ["arg0", "arg1"])
    assert lib.main_like(2, [ffi.new("char[]", b"arg0"),
                             ffi.new("char[]", b"arg1")]) == 2
    assert ffi.string(lib.last_seen()) == b"arg0 arg1"
    argv_keepalive = [ffi.new("char[]", b"arg0"),
                      ffi.new("char[]", b"arg1")]
    argv = ffi.new("char *[]", argv_keepalive)
    assert lib.main_like(2, argv) == 2
    assert ffi.string(lib.last_seen()) == b"arg0 arg1"


def test_ref_6_4_function_calls(calls):
    ffi, lib = calls.ffi, calls.lib
    # int foo(short a, int b);
    n = lib.foo(2, 3)      # returns a normal integer
    assert n == 23 and type(n) is int
    with pytest.raises(OverflowError):
        lib.foo(40000, 3)    # raises OverflowError

    # size_t strlen(const char *);   (doc: lib strlen("hello"), Python 2)
    assert lib.strlen(b"hello") == 5
    with pytest.raises(TypeError):
        lib.strlen("hello")             # 003 s6.2: char is bytes

    # void do_something_with_array(int *array);
    assert lib.do_something_with_array([1, 2, 3, 4, 5]) == 15

    # struct foo_s function_returning_a_struct(void);
    myfoo = lib.function_returning_a_struct()
    assert repr(myfoo) == "<cdata 'struct foo_s' owning 8 bytes>"
    assert (myfoo.a, myfoo.b) == (12, 34)


def test_ref_6_4_api_functions_are_builtins(calls):
    ffi, lib = calls.ffi, calls.lib
    # "non-variadic API-level functions ... are not <cdata> objects, but
    # ... <built-in function> ... Only ffi.typeof() works on them"
    assert isinstance(lib.foo, types.BuiltinFunctionType)
    assert not isinstance(lib.foo, ffi.CData)
    assert ffi.typeof(lib.foo) is ffi.typeof("int(*)(short, int)")
    # "To get a cdata containing a regular function pointer, use
    # ffi.addressof(lib, "name")"
    p = ffi.addressof(lib, "foo")
    assert isinstance(p, ffi.CData)
    assert ffi.typeof(p) is ffi.typeof("int(*)(short, int)")
    assert p(2, 3) == 23
    assert lib.apply_foo(p) == 42
    # doc: "you cannot pass them directly to some other C function
    # expecting a function pointer argument" -- cffi 2.0.0 accepts it
    assert lib.apply_foo(lib.foo) == 42
    # the variadic ones are cdata function pointers
    assert isinstance(lib.printf, ffi.CData)
    # 003 s7.1.10: "ffi.addressof(<library>, "name") returns the address of
    # the named function or global variable"
    g = ffi.addressof(lib, "my_global")
    assert ffi.typeof(g) is ffi.typeof("int *")
    g[0] = 8
    assert lib.my_global == 8


def test_ref_6_4_libffi_limitations_not_in_api_mode(calls):
    ffi, lib = calls.ffi, calls.lib
    # "they don't apply to non-variadic cdef()-declared functions if you
    # are using the API mode": a union, a struct with bitfields, a struct
    # declared with "..."
    assert lib.function_returning_a_union().i == 0x41424344
    bits = lib.function_returning_bits()
    assert (bits.x, bits.y) == (-2, 11)
    assert lib.function_returning_partial().b == 99
    # "These limitations ... apply only to calling <cdata> function
    # pointers"
    for name in ["function_returning_a_union", "function_returning_bits",
                 "function_returning_partial"]:
        with pytest.raises(NotImplementedError):
            ffi.addressof(lib, name)()


def test_ref_6_5_variadic_calls(calls, tmp_path):
    ffi, lib = calls.ffi, calls.lib
    with pytest.raises(TypeError):
        lib.printf(b"hello, %d\n", 42) # doesn't work!
    with CStdout(tmp_path / "out.txt") as out:
        lib.printf(b"hello, %d\n", ffi.cast("int", 42))
        lib.printf(b"hello, %ld\n", ffi.cast("long", 42))
        lib.printf(b"hello, %f\n", ffi.cast("double", 42))
        lib.printf(b"hello, %s\n", ffi.new("char[]", b"world"))
        lib.fflush(ffi.NULL)
    assert out.text == ("hello, 42\nhello, 42\nhello, 42.000000\n"
                        "hello, world\n")
    # "the function signature int foo(); is interpreted by CFFI as
    # equivalent to int foo(void);"
    assert ffi.typeof(lib.noargs) is ffi.typeof("int(*)(void)")
    assert lib.noargs() == 42
    with pytest.raises(TypeError):
        lib.noargs(1)


def test_ref_7_1_15_malloc_free_in_api_mode(calls):
    ffi, lib = calls.ffi, calls.lib
    n = 10
    p = lib.malloc(n * ffi.sizeof("int"))
    try:
        my_array = ffi.cast("int *", p)
        my_array[n - 1] = 5
        assert my_array[n - 1] == 5
    finally:
        lib.free(p)

    my_new = ffi.new_allocator(lib.malloc, lib.free) # at global level
    with my_new("int[]", n) as my_array:
        assert list(my_array) == [0] * n       # cleared after alloc
        lib.memcpy(my_array, ffi.new("int[]", [1, 2, 3]), 3 * 4)
        assert list(my_array[0:4]) == [1, 2, 3, 0]
    # "use the with statement ... to force the free function to be called
    # at a known point"
    counting = ffi.new_allocator(lib.foo_alloc, lib.foo_free)
    before = lib.foo_freed
    with counting("int[]", n):
        assert lib.foo_freed == before
    assert lib.foo_freed == before + 1


def test_ref_7_2_1_file_in_api_mode(calls, tmp_path):
    ffi, lib = calls.ffi, calls.lib
    # "You can declare C functions taking a FILE * argument and call them
    # with a Python file object"
    path = str(tmp_path / "py.txt")
    with open(path, "w") as f:
        f.write("py first\n")
        assert lib.write_stuff_to_file(f) == 21
        assert lib.fflush(f) == 0
        f.write("py last\n")
    assert read(path) == "py first\nstuff written from C\npy last\n"

    path = str(tmp_path / "fdopen.txt")
    with open(path, "w") as myfile:
        myfile.write("before\n")
        myfile.flush() # make sure the file is flushed
        newfd = os.dup(myfile.fileno()) # make a copy of the file descriptor
        fp = lib.fdopen(newfd, b"w") # make a cdata 'FILE *' around newfd
        lib.write_stuff_to_file(fp) # invoke the external function
        lib.fclose(fp) # when you're done, close fp (and newfd)
        myfile.write("after\n")
    assert read(path) == "before\nstuff written from C\nafter\n"


def test_cheatsheet_faq_process_ints_and_errno(calls):
    ffi, lib = calls.ffi, calls.lib
    # Q: How do I pass a Python list to a C function that expects int *?
    values = [1, 2, 3, 4]
    arr = ffi.new("int[]", values)
    assert lib.process_ints(arr, 4) == 10
    # "C sees a contiguous int[4]; the Python list is unaffected"
    assert list(arr) == [10, 20, 30, 40]
    assert values == [1, 2, 3, 4]
    # Q: How do I handle errno?  "Call it immediately after the C call"
    assert lib.set_errno(34) == -1
    assert ffi.errno == 34


def test_cheatsheet_cdata_lifetime(calls):
    ffi, lib = calls.ffi, calls.lib
    ctx = ffi.new("ctx_t *", [1, 2])
    lib.async_callback(ctx)
    # Hold `ctx` in a module-level dict / set until C calls back
    gc.collect()
    assert lib.async_read() == 3
    del ctx

    raw = lib.foo_alloc(1024)
    managed = ffi.gc(raw, lib.foo_free)
    before = lib.foo_freed
    # "managed runs lib.foo_free(raw) automatically when the wrapper is
    # collected"
    del managed
    gc.collect()
    assert lib.foo_freed == before + 1


# --------------------------------------------------------------------------
# 003 s6.7 Extern "Python" (new-style callbacks)

SOME_LIBRARY_H = """
    void library_function(int(*callback)(int, int));
    extern int library_result;
"""

SOME_LIBRARY_C = """
    #include "some_library.h"
    int library_result;
    void library_function(int(*callback)(int, int)) {
        library_result = callback(10, 20);
    }
"""

MY_EXAMPLE_CDEF = """
    extern "Python" int my_callback(int, int);

    void library_function(int(*callback)(int, int));
    extern int library_result;      /* test: what the callback returned */

    /* 003 s6.7.4 */
    extern "Python" {
        int foo(int);
        int bar(int);
    }
    int call_foo_and_bar(int);

    /* 003 s6.7.2 */
    extern "Python" int f(int);
    int my_algo(int);
"""

MY_EXAMPLE_SOURCE = r"""
    #include <some_library.h>

    static int foo(int);
    static int bar(int);
    int call_foo_and_bar(int x) { return foo(x) * 1000 + bar(x); }

    static int f(int); /* the forward declaration */

    static int my_algo(int n) {
        int i, sum = 0;
        for (i = 0; i < n; i++)
            sum += f(i); /* call f() here */
        return sum;
    }
"""


@pytest.fixture(scope="module")
def my_example(tmp_path_factory):
    d = tmp_path_factory.mktemp("my_example")
    write(d, "some_library.h", SOME_LIBRARY_H)
    write(d, "some_library.c", SOME_LIBRARY_C)
    return build(d, "_seed_api_my_example", MY_EXAMPLE_CDEF,
                 MY_EXAMPLE_SOURCE, include_dirs=[str(d)],
                 sources=["some_library.c"])


def test_ref_6_7_extern_python(my_example, capfd):
    ffi, lib = my_example.ffi, my_example.lib
    # not attached yet: a message on stderr, and 0 (003 s6.7.4: "the
    # C-level callback is made to return a default value")
    lib.library_function(lib.my_callback)
    assert lib.library_result == 0
    assert capfd.readouterr().err == (
        'extern "Python": function _seed_api_my_example.my_callback() '
        'called, but no code was attached to it yet with '
        '@ffi.def_extern().  Returning 0.\n')

    @ffi.def_extern()
    def my_callback(x, y):
        return 42

    # "You obtain a <cdata> pointer-to-function object by getting
    # lib.my_callback"
    assert isinstance(lib.my_callback, ffi.CData)
    assert ffi.typeof(lib.my_callback) is ffi.typeof("int(*)(int, int)")
    lib.library_function(lib.my_callback)
    assert lib.library_result == 42
    # "it is possible to redefine the attached Python function by calling
    # @ffi.def_extern() again ... The C function pointer you get from
    # lib.my_function is always this C function's address"
    address = lib.my_callback

    @ffi.def_extern(name="my_callback")
    def my_callback_2(x, y):
        return x + y
    assert lib.my_callback == address
    lib.library_function(lib.my_callback)
    assert lib.library_result == 30
    # (you need to pass lib.my_callback to C code, and not my_callback)
    with pytest.raises(TypeError):
        lib.library_function(my_callback)


def test_ref_6_7_2_my_algo(my_example):
    ffi, lib = my_example.ffi, my_example.lib

    @ffi.def_extern()
    def f(i):
        return i * i
    assert lib.my_algo(10) == 285


def test_ref_6_7_4_braces_error_onerror(my_example, monkeypatch):
    ffi, lib = my_example.ffi, my_example.lib
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    # "name: the name of the function as written in the cdef"
    @ffi.def_extern(name="foo")
    def python_foo(x):
        return x + 1

    # "error: the returned value in case the Python function raises an
    # exception ... The exception is still printed to stderr"
    @ffi.def_extern(error=-1)
    def bar(x):
        raise ValueError(x)
    assert lib.call_foo_and_bar(5) == 6 * 1000 - 1
    [u] = reported
    assert u.exc_type is ValueError
    assert u.err_msg.startswith("Exception ignored from cffi callback")
    del reported[:]

    # onerror(exception, exc_value, traceback): "If onerror is called and
    # returns normally, then it is assumed that it handled the exception
    # on its own and nothing is printed"; it "can itself provide the result
    # value"; traceback.tb_frame.f_locals['argname'] gives the arguments
    seen = []

    def my_handler(exception, exc_value, traceback):
        if traceback is None:
            seen.append((exception, None))
            return None          # then 'error' is used
        seen.append((exception, traceback.tb_frame.f_locals['x']))
        return 77

    @ffi.def_extern(name="bar", error=-5, onerror=my_handler)
    def bar_2(x):
        raise KeyError(x)
    assert lib.call_foo_and_bar(5) == 6 * 1000 + 77
    assert seen == [(KeyError, 5)]

    # "traceback is None e.g. if the whole function ran successfully but
    # there was an error converting the value returned"
    @ffi.def_extern(name="bar", error=-5, onerror=my_handler)
    def bar_3(x):
        return "not an int"
    assert lib.call_foo_and_bar(5) == 6 * 1000 - 5
    assert seen[1] == (TypeError, None)
    assert reported == []

    with pytest.raises(ffi.error):
        @ffi.def_extern()
        def not_declared(x):
            pass


# 003 s6.7.1: "Extern "Python" and void * arguments"

THE_EVENT_LIBRARY_H = """
    typedef struct { int kind; } event_t;
    typedef void (*event_cb_t)(event_t *evt, void *userdata);
    void event_cb_register(event_cb_t cb, void *userdata);
    void event_loop_fire(int kind);     /* calls the registered callbacks */
    int event_kind(event_t *evt);
"""

THE_EVENT_LIBRARY_C = """
    #include "the_event_library.h"
    static event_cb_t cbs[8];
    static void *uds[8];
    static int n_cbs;
    void event_cb_register(event_cb_t cb, void *userdata) {
        cbs[n_cbs] = cb; uds[n_cbs++] = userdata;
    }
    void event_loop_fire(int kind) {
        int i; event_t evt; evt.kind = kind;
        for (i = 0; i < n_cbs; i++) cbs[i](&evt, uds[i]);
    }
    int event_kind(event_t *evt) { return evt->kind; }
"""


def test_ref_6_7_1_event_callback_with_userdata(tmp_path, capsys):
    write(tmp_path, "the_event_library.h", THE_EVENT_LIBRARY_H)
    write(tmp_path, "the_event_library.c", THE_EVENT_LIBRARY_C)
    ffibuilder = FFI()
    ffibuilder.cdef("""
        typedef ... event_t;
        typedef void (*event_cb_t)(event_t *evt, void *userdata);
        void event_cb_register(event_cb_t cb, void *userdata);

        extern "Python" void my_event_callback(event_t *, void *);

        void event_loop_fire(int kind);     /* test: fire events */
        int event_kind(event_t *evt);
    """)
    ffibuilder.set_source("_seed_api_demo_cffi", r"""
        #include <the_event_library.h>
    """, include_dirs=[str(tmp_path)], sources=["the_event_library.c"])
    with cwd(tmp_path):
        ffibuilder.compile()

    mod = load(tmp_path, "_seed_api_demo_cffi")   # from _demo_cffi import..
    ffi, lib = mod.ffi, mod.lib

    class Widget(object):
        def __init__(self):
            userdata = ffi.new_handle(self)
            self._userdata = userdata # must keep this alive!
            lib.event_cb_register(lib.my_event_callback, userdata)

        def process_event(self, evt):
            print("got event!")
            self.kinds.append(lib.event_kind(evt))

    @ffi.def_extern()
    def my_event_callback(evt, userdata):
        widget = ffi.from_handle(userdata)
        widget.process_event(evt)

    w1 = Widget()
    w2 = Widget()
    w1.kinds = []
    w2.kinds = []
    lib.event_loop_fire(3)
    lib.event_loop_fire(4)
    assert w1.kinds == w2.kinds == [3, 4]
    assert capsys.readouterr().out == "got event!\n" * 4


# 003 s6.7.1, the widget->userdata variant, and s6.7.2 "Extern Python
# accessed from C directly"

THE_WIDGET_LIBRARY_H = """
    typedef struct { int kind; } event_t;
    typedef struct widget { int width, height; void *userdata; } widget_t;
    typedef void (*event_cb_t)(widget_t *w, event_t *evt);
    widget_t *new_widget(int width, int height);
    void event_cb_register(widget_t *w, event_cb_t cb);
    void event_loop_fire(int kind);
"""

THE_WIDGET_LIBRARY_C = """
    #include <stdlib.h>
    #include "the_event_library.h"
    static widget_t *ws[8];
    static event_cb_t cbs[8];
    static int n_cbs;
    widget_t *new_widget(int width, int height) {
        widget_t *w = calloc(1, sizeof(widget_t));
        w->width = width; w->height = height; return w;
    }
    void event_cb_register(widget_t *w, event_cb_t cb) {
        ws[n_cbs] = w; cbs[n_cbs++] = cb;
    }
    void event_loop_fire(int kind) {
        int i; event_t evt; evt.kind = kind;
        for (i = 0; i < n_cbs; i++) cbs[i](ws[i], &evt);
    }
"""


def test_ref_6_7_1_widget_userdata_and_6_7_2_from_c(tmp_path, capsys):
    write(tmp_path, "the_event_library.h", THE_WIDGET_LIBRARY_H)
    write(tmp_path, "the_event_library.c", THE_WIDGET_LIBRARY_C)
    ffibuilder = FFI()
    ffibuilder.cdef("""
        typedef ... event_t;
        struct widget { int width; void *userdata; ...; };
        typedef struct widget widget_t;
        typedef void (*event_cb_t)(widget_t *w, event_t *evt);
        widget_t *new_widget(int, int);
        void event_cb_register(widget_t *, event_cb_t);
        extern "Python" void my_event_callback(widget_t *, event_t *);

        void event_loop_fire(int kind);     /* test: fire events */
        void register_from_c(widget_t *);
    """)
    ffibuilder.set_source("_seed_api_demo_widget", r"""
        #include <the_event_library.h>

        static void my_event_callback(widget_t *, event_t *);

        /* here you can write C code which uses '&my_event_callback' */
        void register_from_c(widget_t *w) {
            event_cb_register(w, &my_event_callback);
        }
    """, include_dirs=[str(tmp_path)], sources=["the_event_library.c"])
    with cwd(tmp_path):
        ffibuilder.compile()

    mod = load(tmp_path, "_seed_api_demo_widget")
    ffi, lib = mod.ffi, mod.lib

    class Widget(object):
        def __init__(self, from_c=False):
            ll_widget = lib.new_widget(500, 500)
            self.ll_widget = ll_widget # <cdata 'struct widget *'>
            userdata = ffi.new_handle(self)
            self._userdata = userdata # must still keep this alive!
            ll_widget.userdata = userdata # this makes a copy of the "void *"
            if from_c:
                lib.register_from_c(ll_widget)
            else:
                lib.event_cb_register(ll_widget, lib.my_event_callback)
            self.events = 0

        def process_event(self, evt):
            print("got event!")
            self.events += 1

    @ffi.def_extern()
    def my_event_callback(ll_widget, evt):
        widget = ffi.from_handle(ll_widget.userdata)
        widget.process_event(evt)

    w1 = Widget()
    w2 = Widget(from_c=True)
    assert ffi.typeof(w1.ll_widget) is ffi.typeof("struct widget *")
    assert w1.ll_widget.width == 500
    lib.event_loop_fire(1)
    assert (w1.events, w2.events) == (1, 1)
    assert capsys.readouterr().out == "got event!\n" * 2


# 003 s6.7.3 Extern "Python+C": "directly callable from other C source
# files"; with the gcc attribute on the forward declaration

def test_ref_6_7_3_extern_python_plus_c(tmp_path):
    write(tmp_path, "other_file.c", """
        int f(int);       /* the extern "Python+C" function */
        int call_f_from_elsewhere(int x) { return 2 * f(x); }
    """)
    ffibuilder = FFI()
    ffibuilder.cdef("""
        extern "Python+C" int f(int); /* not static */
        int call_f_from_elsewhere(int);
    """)
    ffibuilder.set_source("_seed_api_example_cffi", r"""
        /* the forward declaration, setting a gcc attribute
           (this line could also be in some .h file, to be included
           both here and in the other C files of the project) */
        int f(int) __attribute__((visibility("hidden")));
    """, sources=["other_file.c"])
    with cwd(tmp_path):
        ffibuilder.compile()
    mod = load(tmp_path, "_seed_api_example_cffi")

    @mod.ffi.def_extern()
    def f(x):
        return x + 100
    assert mod.lib.call_f_from_elsewhere(1) == 202
    # not static, but hidden: not exported by the shared object
    so = ctypes.CDLL(extension_files(tmp_path, "_seed_api_example_cffi")[0])
    with pytest.raises(AttributeError):
        so.f
    assert so.call_f_from_elsewhere


# 003 s7.1.13 ffi.new_handle(): the MyDocument / process_document usage
# example (out-of-line API mode)

def test_ref_7_1_13_process_document(tmp_path):
    mod = build(tmp_path, "_seed_api_handles", """
        extern "Python" int my_callback(int, int, void *);
        int process_document(int (*callback)(int, int, void *), void *data,
                             int arg1, int arg2);
    """, """
        static int my_callback(int, int, void *);
        int process_document(int (*callback)(int, int, void *), void *data,
                             int arg1, int arg2) {
            return callback(arg1, arg2, data) + callback(arg2, arg1, data);
        }
    """)
    ffi, lib = mod.ffi, mod.lib

    class MyDocument:
        def __init__(self):
            self.calls = []

        def process(self):
            h = ffi.new_handle(self)
            return lib.process_document(lib.my_callback, # the callback
                                        h,              # 'void *data'
                                        3, 4)           # args...
            # 'h' stays alive until here, which means that the
            # ffi.from_handle() done in my_callback() during
            # the call to process_document() is safe

        def callback(self, arg1, arg2):
            self.calls.append((arg1, arg2))
            return arg1 * 10 + arg2

    # the actual callback is this one-liner global function:
    @ffi.def_extern()
    def my_callback(arg1, arg2, data):
        return ffi.from_handle(data).callback(arg1, arg2)

    doc = MyDocument()
    assert doc.process() == 34 + 43
    assert doc.calls == [(3, 4), (4, 3)]


# 003 s6.8 Callbacks (old style): "callbacks of a variadic function type
# are not supported.  A workaround is to add custom C code"

def test_ref_6_8_variadic_callback_workaround(tmp_path, capsys):
    ffibuilder = FFI()
    with pytest.warns(UserWarning, match="Global variable 'python_callback' "
                      "in cdef.*should have a storage class specifier"):
        ffibuilder.cdef("""
            int (*python_callback)(int how_many, int *values);
            void *const c_callback; /* pass this const ptr to C routines */
        """)
    ffibuilder.set_source("_seed_api_varargs_cb", r"""
    #include <stdarg.h>
    #include <alloca.h>
    static int (*python_callback)(int how_many, int *values);
    static int c_callback(int how_many, ...) {
        va_list ap;
        /* collect the "..." arguments into the values[] array */
        int i, *values = alloca(how_many * sizeof(int));
        va_start(ap, how_many);
        for (i=0; i<how_many; i++)
            values[i] = va_arg(ap, int);
        va_end(ap);
        return python_callback(how_many, values);
    }
    """)
    with cwd(tmp_path):
        ffibuilder.compile(verbose=True)

    # file "example.py"
    mod = load(tmp_path, "_seed_api_varargs_cb")
    ffi, lib = mod.ffi, mod.lib

    @ffi.callback("int(int, int *)")
    def python_callback(how_many, values):
        print(ffi.unpack(values, how_many))
        return 0
    lib.python_callback = python_callback
    assert lib.python_callback == python_callback

    # a C routine would call c_callback; here it is called through the
    # function pointer type that such a routine would use
    variadic = ffi.cast("int(*)(int, ...)", lib.c_callback)
    assert variadic(3, ffi.cast("int", 10), ffi.cast("int", 20),
                    ffi.cast("int", 30)) == 0
    assert capsys.readouterr().out[-13:] == "[10, 20, 30]\n"


# 003 s7.1.17 ffi.init_once(), "from _xyz_cffi import ffi, lib"

def test_ref_7_1_17_init_once(tmp_path):
    mod = build(tmp_path, "_seed_api_xyz_cffi", """
        void init_my_library(void);
        int make_foo(void);
        int initialize_once_and_get_some_maximum_number(void);
        extern int init_calls, max_calls;
    """, """
        #include <unistd.h>
        int init_calls, max_calls;
        static int initialized;
        void init_my_library(void) {
            usleep(20000); init_calls++; initialized = 1;
        }
        int make_foo(void) { return initialized ? 42 : -1; }
        int initialize_once_and_get_some_maximum_number(void) {
            max_calls++; return 10;
        }
    """)
    ffi, lib = mod.ffi, mod.lib

    def initlib():
        lib.init_my_library()

    def make_new_foo():
        ffi.init_once(initlib, "init")
        return lib.make_foo()

    # "If init_once() is called from multiple threads in parallel, all
    # calls block until the execution of function() is done"
    results = []
    threads = [threading.Thread(target=lambda: results.append(make_new_foo()))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 4
    assert make_new_foo() == 42
    assert lib.init_calls == 1

    def init_get_max():
        return lib.initialize_once_and_get_some_maximum_number()

    def process(i):
        if i > ffi.init_once(init_get_max, "max"):
            raise IndexError("index too large!")
        return i

    assert process(3) == 3
    with pytest.raises(IndexError):
        process(11)
    assert lib.max_calls == 1


# --------------------------------------------------------------------------
# 001 "Basic Usage Example", steps 1-5

GUIDE_EXAMPLE_BUILD = r'''
from cffi import FFI
ffibuilder = FFI()

ffibuilder.cdef("""
    int add(int a, int b);
""")

ffibuilder.set_source("_example",
    """
    int add(int a, int b) {
        return a + b;
    }
    """)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
'''

GUIDE_EXAMPLE_MAIN = '''
from _example import lib
result = lib.add(5, 3)
print(result)  # Output: 8
'''


def test_guide_basic_usage_example(child, tmp_path):
    write(tmp_path, "example_build.py", GUIDE_EXAMPLE_BUILD)
    child.python(tmp_path, "example_build.py")
    # "This generates a compiled module (e.g.,
    # _example.cpython-39-x86_64-linux-gnu.so)"
    assert os.path.isfile(str(tmp_path / ("_example" + EXT_SUFFIX)))
    write(tmp_path, "main.py", GUIDE_EXAMPLE_MAIN)
    assert child.python(tmp_path, "main.py").stdout == "8\n"


# --------------------------------------------------------------------------
# 002 "Real-world recipes" 2, 3, 4

RECIPE2_BUILD = '''
# build_helper.py — run once: `python build_helper.py`
from cffi import FFI
ffi = FFI()
ffi.cdef("typedef struct { int x; int y; } point; int sum_xy(point *p);")
ffi.set_source("_helper", """
typedef struct { int x; int y; } point;
int sum_xy(point *p) { return p->x + p->y; }
""")
ffi.compile()
'''

RECIPE2_MAIN = '''
from _helper import ffi, lib
p = ffi.new("point *", [3, 4])
print(lib.sum_xy(p))
'''


def test_cheatsheet_recipe2_struct_to_c(child, tmp_path):
    write(tmp_path, "build_helper.py", RECIPE2_BUILD)
    child.python(tmp_path, "build_helper.py")
    # "_helper.c, _helper.<tag>.so generated"
    assert os.path.isfile(str(tmp_path / "_helper.c"))
    assert len(extension_files(tmp_path, "_helper")) == 1
    write(tmp_path, "main.py", RECIPE2_MAIN)
    assert child.python(tmp_path, "main.py").stdout == "7\n"


RECIPE3_BUILD = '''
from cffi import FFI
ffi = FFI()
ffi.cdef("""
typedef struct { int year; int month; int day; } date_t;
int compute_jdn(const date_t *d);
""")
ffi.set_source("_dates", '#include "dates.h"', sources=["dates.c"])
ffi.compile()
'''

# doc: dates.h and dates.c are not given
DATES_H = """
typedef struct { int year; int month; int day; } date_t;
int compute_jdn(const date_t *d);
"""

DATES_C = """
#include "dates.h"
int compute_jdn(const date_t *d) {     /* the Julian Day Number */
    int a = (14 - d->month) / 12;
    int y = d->year + 4800 - a;
    int m = d->month + 12 * a - 3;
    return d->day + (153 * m + 2) / 5 + 365 * y + y / 4 - y / 100 + y / 400
           - 32045;
}
"""

RECIPE3_MAIN = '''
from _dates import ffi, lib
print(lib.compute_jdn(ffi.new("date_t *", [2000, 1, 1])))
'''


@pytest.mark.parametrize("header", ["exact", "drifted", "extended"])
def test_cheatsheet_recipe3_dates(child, tmp_path, header):
    if header == "exact":
        dates_h = DATES_H
    elif header == "drifted":      # a field renamed
        dates_h = DATES_H.replace("int day;", "int mday;")
    else:                          # a field added
        dates_h = DATES_H.replace("int day;", "int day; int tz;")
    write(tmp_path, "dates.h", dates_h)
    write(tmp_path, "dates.c", DATES_C.replace(
        "d->day", "d->mday" if header == "drifted" else "d->day"))
    write(tmp_path, "build_dates.py", RECIPE3_BUILD)
    out = child.python(tmp_path, "build_dates.py", check=False)
    write(tmp_path, "main.py", RECIPE3_MAIN)
    if header == "exact":
        assert out.returncode == 0, out.stderr
        assert child.python(tmp_path, "main.py").stdout == "2451545\n"
    elif header == "drifted":
        # "the build fails loudly if dates.h doesn't define date_t exactly
        # as declared"
        assert out.returncode != 0
        assert "VerificationError" in out.stderr
        assert "no member named" in out.stderr and "day" in out.stderr
    else:
        # a struct of another size builds; cffi 2.0.0 reports the drift
        # when the type is first used
        assert out.returncode == 0, out.stderr
        out = child.python(tmp_path, "main.py", check=False)
        assert out.returncode != 0
        assert ("date_t: wrong total size (cdef says 12, but C compiler "
                "says 16)" in out.stderr)


RECIPE4 = '''
from cffi import FFI
ffi = FFI()
ffi.cdef("const char *greet(void);")
ffi.set_source("_greet", 'const char *greet(void) { return "Hello, Alice Dev"; }')
ffi.compile()
from _greet import ffi as ffi2, lib
print(ffi2.string(lib.greet()).decode())
'''


def test_cheatsheet_recipe4_greet(child, tmp_path):
    write(tmp_path, "recipe4.py", RECIPE4)
    assert child.python(tmp_path, "recipe4.py").stdout == \
        "Hello, Alice Dev\n"


# 002 "Version migration guide": set_source(..., py_limited_api="cp38")
# gives a "stable-ABI" module (doc: "..." stands for C source)
def test_cheatsheet_version_migration_py_limited_api(tmp_path):
    ffi = FFI()
    ffi.cdef("int add(int, int);")
    # Pre-1.15: no explicit packaging args needed
    ffi.set_source("_seed_api_mod_old", "int add(int a, int b) "
                                        "{ return a + b; }")
    assert ffi.compile(tmpdir=str(tmp_path)).endswith(EXT_SUFFIX)
    ffi = FFI()
    ffi.cdef("int add(int, int);")
    # 1.16+: pass packaging hints if cross-compiling
    ffi.set_source("_seed_api_mod", "int add(int a, int b) { return a + b; }",
                   py_limited_api="cp38") # stable ABI wheel
    path = ffi.compile(tmpdir=str(tmp_path))
    assert path == str(tmp_path / "_seed_api_mod.abi3.so")
    assert load(tmp_path, "_seed_api_mod").lib.add(2, 3) == 5


# 002 "Testing & CI integration": the doc's test, as given, run with a
# PYTHONPATH that makes its 'python build.py' see rcffi as cffi
def test_cheatsheet_testing_ci_integration(child, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", child.env["PYTHONPATH"])
    import subprocess, sys, pathlib  # noqa: F401,E401  (as in the doc)

    def test_helper_builds(tmp_path):
        src = tmp_path / "build.py"
        src.write_text("""
from cffi import FFI
ffi = FFI()
ffi.cdef("int add(int a, int b);")
ffi.set_source("_h", "int add(int a, int b) { return a + b; }")
ffi.compile()
""")
        subprocess.check_call([sys.executable, str(src)], cwd=tmp_path)
        assert any(p.suffix in {".so", ".pyd"} for p in tmp_path.iterdir())

    test_helper_builds(tmp_path)
    # "verifies the build pipeline produces a loadable extension"
    out = child.python(tmp_path, "-c", "import _h; print(_h.lib.add(2, 3))")
    assert out.stdout == "5\n"


# --------------------------------------------------------------------------
# 002 "Worked example: wrap a small C library and ship a wheel", steps 1-3
# (step 4, cibuildwheel in CI, is not run).  /usr/local is a temporary
# directory here.

FOO_H = """
int foo_compute(const char *input, int length);
const char *foo_version(void);
"""

FOO_C = """
#include "foo.h"
int foo_compute(const char *input, int length) {   /* the sum of the bytes */
    int i, sum = 0;
    for (i = 0; i < length; i++) sum += (unsigned char)input[i];
    return sum;
}
const char *foo_version(void) { return "1.2.3"; }
"""

WORKED_FOO_BUILD = '''
from cffi import FFI
ffi = FFI()
ffi.cdef("""
int foo_compute(const char *input, int length);
const char *foo_version(void);
""")
ffi.set_source(
"_foo",
'#include "foo.h"',
libraries=["foo"], # link against libfoo
library_dirs=["/usr/local/lib"],
include_dirs=["/usr/local/include"],
)
if __name__ == "__main__":
    ffi.compile(verbose=True)
'''

WORKED_SETUP = '''
from setuptools import setup
setup(
name="pyfoo",
version="0.1.0",
py_modules=["pyfoo"],
cffi_modules=["_foo_build.py:ffi"],
setup_requires=["cffi>=1.16"],
install_requires=["cffi>=1.16"],
)
'''

WORKED_PYFOO = '''
from _foo import ffi, lib
def compute(text: str) -> int:
    encoded = text.encode("utf-8")
    return lib.foo_compute(encoded, len(encoded))
def version() -> str:
    return ffi.string(lib.foo_version()).decode("utf-8")
'''

WORKED_USE = '''
import pyfoo
print(pyfoo.compute("hello"), pyfoo.compute("h\\u00e9"), pyfoo.version())
'''


@pytest.fixture
def usr_local(tmp_path):
    prefix = tmp_path / "usr" / "local"
    write(prefix / "include", "foo.h", FOO_H)
    write(prefix / "lib", "foo.h", FOO_H)
    shared_library(prefix / "lib", "foo", FOO_C)
    os.unlink(str(prefix / "lib" / "foo.h"))
    project = tmp_path / "pyfoo"
    write(project, "_foo_build.py",
          WORKED_FOO_BUILD.replace("/usr/local", str(prefix)))
    write(project, "pyfoo.py", WORKED_PYFOO)
    write(project, "use.py", WORKED_USE)
    return types.SimpleNamespace(
        prefix=prefix, project=project,
        env={"LD_LIBRARY_PATH": str(prefix / "lib")})


def test_cheatsheet_worked_example_build_script(child, usr_local):
    project = usr_local.project
    # "running python _foo_build.py emits _foo.c and a compiled
    # _foo.<tag>.so"
    child.python(project, "_foo_build.py", extra_env=usr_local.env)
    assert os.path.isfile(str(project / "_foo.c"))
    assert len(extension_files(project, "_foo")) == 1
    # "users get pyfoo.compute("hello") and pyfoo.version()"
    out = child.python(project, "use.py", extra_env=usr_local.env)
    assert out.stdout == "532 468 1.2.3\n"


def test_cheatsheet_worked_example_setup_py(child, usr_local, tmp_path):
    project = usr_local.project
    write(project, "setup.py", setup_py(WORKED_SETUP))
    # "pip install . builds the extension and installs it": the build
    # part, and a plain install into a directory of its own
    target = tmp_path / "site"
    child.python(project, "setup.py", "build", extra_env=usr_local.env)
    [build_lib] = glob.glob(str(project / "build" / "lib*"))
    assert os.path.isfile(os.path.join(build_lib, "pyfoo.py"))
    assert len(extension_files(build_lib, "_foo")) == 1
    child.python(project, "setup.py", "install_lib", "--install-dir",
                 str(target), "--skip-build", extra_env=usr_local.env)
    assert len(extension_files(target, "_foo")) == 1
    out = child.python(tmp_path, str(project / "use.py"), extra_env=dict(
        usr_local.env, PYTHONPATH=str(target)))
    assert out.stdout == "532 468 1.2.3\n"


# --------------------------------------------------------------------------
# 002 FAQ "API mode says cannot find header", "Can I link against a static
# library?", and "Production deployment notes": strip the symbols

def test_cheatsheet_faq_headers_and_static_library(tmp_path):
    headers = tmp_path / "headers"
    write(headers, "faqlib.h", "int faq_answer(void);\n")
    static_library(tmp_path / "static", "faqlib",
                   "int faq_answer(void) { return 42; }\n")
    cdef = "int faq_answer(void);"
    source = '#include "faqlib.h"'
    link = ["-L" + str(tmp_path / "static"), "-l:libfaqlib.a"]
    ffibuilder = FFI()
    ffibuilder.cdef(cdef)
    ffibuilder.set_source("_seed_api_faq_noinc", source,
                          extra_link_args=link)
    with pytest.raises(VerificationError):
        ffibuilder.compile(tmpdir=str(tmp_path / "noinc"))
    # "Add include_dirs=["/path/to/headers"] to set_source"; "pass
    # extra_link_args=["-L/path", "-l:libfoo.a"]"; "-Wl,--strip-all"
    mod = build(tmp_path, "_seed_api_faq", cdef, source,
                include_dirs=[str(headers)],
                extra_link_args=link + ["-Wl,--strip-all"])
    assert mod.lib.faq_answer() == 42


# --------------------------------------------------------------------------
# 003 s8 (introduction): the two FFI classes, the ffi and lib objects of a
# compiled module

def test_ref_8_compiled_module_ffi_and_lib(calls):
    ffi, lib = calls.ffi, calls.lib
    # "the lib objects returned by the C version are read-only, apart from
    # writes to global variables"
    lib.my_global = 9
    assert lib.my_global == 9
    with pytest.raises(AttributeError):
        lib.foo = 1
    with pytest.raises(AttributeError):
        lib.not_declared = 1
    # "from _foo import ffi returns an object of a type written in C, which
    # does not let you add random attributes to it"
    with pytest.raises(AttributeError):
        ffi.random_attribute = 1
    # "lib.__dict__ ... (use instead dir(lib)). The same is true for
    # lib.__class__, lib.__all__ and lib.__name__ added in successive
    # versions"
    assert "foo" in dir(lib) and "my_global" in dir(lib)
    assert sorted(lib.__dict__) == sorted(dir(lib))
    assert lib.__name__ == "_seed_api_calls.lib"
    assert lib.__class__ is types.ModuleType
    assert "foo" in lib.__all__ and "my_global" not in lib.__all__


# "Note that CFFI actually contains two different FFI classes ... the
# extended FFI class is the one you get from import cffi; ... It has the
# same functionality (for in-line use), but also the extra methods
# described below (to prepare the FFI)": cdef(), include(), set_source()...
# are not methods of the ffi of a compiled module
def test_ref_8_compiled_module_ffi_has_no_builder_methods(calls):
    ffi = calls.ffi
    rcffi.install_as_cffi()
    import cffi
    assert not isinstance(ffi, cffi.FFI)
    for name in ["set_source", "compile", "verify", "emit_c_code",
                 "embedding_api", "cdef", "include"]:
        assert not hasattr(ffi, name), name


# "a regular program using CFFI out-of-line does not need to import the
# cffi pure Python package at all. (Internally it still needs
# _cffi_backend ...)"; PyInstaller "will miss _cffi_backend"
def test_ref_8_out_of_line_programs_do_not_import_cffi(child, tmp_path):
    write(tmp_path, "example_build.py", GUIDE_EXAMPLE_BUILD)
    child.python(tmp_path, "example_build.py")
    out = child.python(tmp_path, "-c", textwrap.dedent("""
        import sys
        from _example import ffi, lib
        assert lib.add(2, 3) == 5
        print('cffi' in sys.modules, '_cffi_backend' in sys.modules)
    """))
    assert out.stdout == "False True\n"


# --------------------------------------------------------------------------
# 003 s7.2 "Conversions" in API mode: footnotes [1], [2], [3], [7], and
# s7.2.2 "Unicode character types" with set_source(); s8.1 packed/pack

CONVERSIONS_CDEF = """
    double _Complex cmul(double _Complex a, double _Complex b);
    float _Complex fconj(float _Complex a);
    long double ldhalf(long double);
    char16_t first16(const char16_t *s);
    size_t len32(const char32_t *s);
    size_t wlen(const wchar_t *s);
    struct point_s { int x, y; };
    int point_sum(struct point_s *p);
    void sleep_a_bit(void);
"""

CONVERSIONS_SOURCE = r"""
    #include <complex.h>
    #include <uchar.h>
    #include <wchar.h>
    #include <unistd.h>
    double _Complex cmul(double _Complex a, double _Complex b) { return a * b; }
    float _Complex fconj(float _Complex a) { return conjf(a); }
    long double ldhalf(long double x) { return x / 2; }
    char16_t first16(const char16_t *s) { return s[0]; }
    size_t len32(const char32_t *s) { size_t n = 0; while (s[n]) n++; return n; }
    size_t wlen(const wchar_t *s) { return wcslen(s); }
    struct point_s { int x, y; };
    int point_sum(struct point_s *p) { return p->x + p->y; }
    void sleep_a_bit(void) { usleep(150000); }
"""


@pytest.fixture(scope="module")
def conversions(tmp_path_factory):
    return build(tmp_path_factory.mktemp("conversions"),
                 "_seed_api_conversions", CONVERSIONS_CDEF,
                 CONVERSIONS_SOURCE)


def test_ref_7_2_complex_and_long_double(conversions):
    ffi, lib = conversions.ffi, conversions.lib
    # [7] "C functions that take directly as argument types or return type
    # a complex type cannot be called by CFFI, unless they are directly
    # using the API mode"
    assert lib.cmul(1 + 2j, 3j) == -6 + 3j
    assert lib.fconj(1 + 2j) == 1 - 2j
    with pytest.raises(NotImplementedError):
        ffi.addressof(lib, "cmul")(1, 2)
    # [3] "We keep long double values inside a cdata object ... call
    # float()"
    x = lib.ldhalf(3.0)
    assert ffi.typeof(x) is ffi.typeof("long double")
    assert float(x) == 1.5


def test_ref_7_2_2_unicode_types_with_set_source(conversions, tmp_path):
    lib = conversions.lib
    assert lib.first16("\u1234x") == "\u1234"
    # "surrogates are automatically inserted when converting from Python
    # unicodes to UTF-16" (and not to UTF-32)
    assert lib.len32("\U0001F600ab") == 3
    assert lib.wlen("h\u00e9llo") == 5
    # "you have to make sure yourself that the types are declared by the C
    # source you provide to set_source()"
    ffibuilder = FFI()
    ffibuilder.cdef("char16_t first16(const char16_t *s);")
    ffibuilder.set_source("_seed_api_no_uchar", "")
    with pytest.raises(VerificationError):
        ffibuilder.compile(tmpdir=str(tmp_path))


def test_ref_7_2_struct_pointer_arguments_and_gil(conversions):
    ffi, lib = conversions.ffi, conversions.lib
    # [1] "a struct point_s * argument might be passed as [[x, y]] or
    # [{'x': 5, 'y': 10}]"
    assert lib.point_sum([[3, 4]]) == 7
    assert lib.point_sum([{'x': 5, 'y': 10}]) == 15
    # [2] "C function calls are done with the GIL released"
    threads = [threading.Thread(target=lib.sleep_a_bit) for _ in range(4)]
    start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.time() - start < 0.45


# 003 s8.1: packed=True "has no effect on structs declared with '...;'";
# pack=n is for ABI mode
def test_ref_8_1_packed_in_api_mode(tmp_path):
    mod = build(tmp_path, "_seed_api_packed", """
        struct pk { char a; int b; };
        struct pp { char a; int b; ...; };
    """, """
        struct pk { char a; int b; } __attribute__((packed));
        struct pp { char a; int b; };
    """)
    # (cdef(packed=True) is not available through build(): redo it)
    ffibuilder = FFI()
    ffibuilder.cdef("""
        struct pk { char a; int b; };
        struct pp { char a; int b; ...; };
    """, packed=True)
    ffibuilder.set_source("_seed_api_packed2", """
        struct pk { char a; int b; } __attribute__((packed));
        struct pp { char a; int b; };
    """)
    with cwd(tmp_path):
        ffibuilder.compile()
    ffi = load(tmp_path, "_seed_api_packed2").ffi
    assert (ffi.sizeof("struct pk"), ffi.offsetof("struct pk", "b")) == (5, 1)
    assert (ffi.sizeof("struct pp"), ffi.offsetof("struct pp", "b")) == (8, 4)
    # without packed=True, the exact struct pk mismatches
    with pytest.raises(mod.ffi.error):
        mod.ffi.sizeof("struct pk")
    ffibuilder = FFI()
    ffibuilder.cdef("struct q { char a; int b; };", pack=2)
    ffibuilder.set_source("_seed_api_pack2", "struct q { char a; int b; };")
    with pytest.raises(NotImplementedError):
        ffibuilder.compile(tmpdir=str(tmp_path))


# 003 s6.7.4: "If onerror raises, then both tracebacks are printed"
def test_ref_6_7_4_onerror_raises(tmp_path, monkeypatch):
    mod = build(tmp_path, "_seed_api_onerror", """
        extern "Python" int cb(int);
        int call_cb(int);
    """, """
        static int cb(int);
        int call_cb(int x) { return cb(x); }
    """)
    ffi, lib = mod.ffi, mod.lib
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def my_handler(exception, exc_value, traceback):
        raise RuntimeError("in onerror")

    @ffi.def_extern(onerror=my_handler, error=-3)
    def cb(x):
        raise ValueError(x)
    assert lib.call_cb(1) == -3
    assert [(u.exc_type, u.err_msg.split(" <")[0]) for u in reported] == [
        (ValueError, "Exception ignored from cffi callback"),
        (RuntimeError, "Exception ignored during handling of the above "
                       "exception by 'onerror'")]


# the same, returning half of a surrogate pair: "a unicode of length 1 (or
# maybe 2 if surrogates)" -- the function returns '\ud83d' in cffi 2.0.0
def test_ref_7_2_2_surrogate_returned_by_api_function(conversions):
    assert conversions.lib.first16("\U0001F600") == "\ud83d"


# 003 s3.8.24 (v1.3.0): "when using set_source() or verify(), the const and
# restrict keywords are copied from the cdef to the generated C code; this
# fixes warnings by the C compiler.  It also fixes corner cases like
# typedef const int T; T a; which would previously not consider a as a
# constant"
CONST_CDEF = """
    size_t strlen(const char *);
    void *memcpy(void *restrict dest, const void *restrict src, size_t n);
    typedef const int T;
    extern T a;
    extern const char *const names[2];
"""

CONST_SOURCE = """
    #include <string.h>
    typedef const int T;
    T a = 42;
    const char *const names[2] = { "x", "y" };
"""


def test_whatsnew_1_3_const_and_restrict_copied(tmp_path):
    mod = build(tmp_path, "_seed_api_const", CONST_CDEF, CONST_SOURCE,
                extra_compile_args=["-Wall", "-Werror"])
    ffi, lib = mod.ffi, mod.lib
    assert lib.a == 42
    with pytest.raises(AttributeError):
        lib.a = 43
    assert ffi.string(lib.names[1]) == b"y"
    buf = ffi.new("char[]", 4)
    lib.memcpy(buf, b"abc", 3)
    assert lib.strlen(buf) == 3


# 003 s5.5: "the C compiler will give warnings or errors, as usual e.g. if
# we misdeclare some function's signature" -- and none if nothing is
# misdeclared: upstream's generated code compiles with -Wall -Werror.
# Here 002 Recipes 2 and 4 (no function of two arguments or more: an
# unused helper function of the generated code was once left there).
def test_ref_5_5_generated_code_compiles_without_warnings(tmp_path):
    mod = build(tmp_path, "_seed_api_no_warnings", """
        typedef struct { int x; int y; } point; int sum_xy(point *p);
        const char *greet(void);
    """, """
        typedef struct { int x; int y; } point;
        int sum_xy(point *p) { return p->x + p->y; }
        const char *greet(void) { return "Hello, Alice Dev"; }
    """, extra_compile_args=["-Wall", "-Werror"])
    assert mod.lib.sum_xy([[3, 4]]) == 7


# 003 s7.2: long double, "writing into: another <cdata> with a long double,
# or anything on which float() works" -- anything else is a TypeError, as
# for a double argument
def test_ref_7_2_long_double_argument_type_error(conversions):
    lib = conversions.lib
    assert float(lib.ldhalf(conversions.ffi.cast("long double", 5))) == 2.5
    with pytest.raises(TypeError):
        lib.ldhalf("x")
