"""API mode: how the layouts the cdef declares are checked against those of
the C compiler.  A module built by set_source() + compile() reports a
mismatch lazily, as an ffi.error where the layout is needed; ffi.verify()
reports it when loading, as a VerificationError."""

import shutil
import sys

import pytest

import rcffi
from rcffi import FFI

pytestmark = pytest.mark.skipif(
    shutil.which("gcc") is None and shutil.which("cc") is None,
    reason="no C compiler")


def build(tmp_path, name, cdef, source):
    ffi = FFI()
    ffi.cdef(cdef)
    ffi.set_source(name, source)
    ffi.compile(tmpdir=str(tmp_path))
    rcffi.install_as_cffi()
    sys.path.insert(0, str(tmp_path))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_qualified_fields_compile(tmp_path):
    m = build(tmp_path, "_rcffi_qualfields",
              "struct s { const int a; void *const p; volatile double d;"
              " const int b[2]; };",
              "struct s { const int a; void *const p; volatile double d;"
              " const int b[2]; };")
    p = m.ffi.new("struct s *", {'a': 5, 'b': [1, 2]})
    assert (p.a, p.p, p.d, list(p.b)) == (5, m.ffi.NULL, 0.0, [1, 2])


def test_wrong_offset_is_reported_lazily(tmp_path):
    m = build(tmp_path, "_rcffi_wrongoffset",
              "struct foo_s { int b; short a; };",
              "struct foo_s { short a; int b; };")
    ffi = m.ffi
    ffi.typeof("struct foo_s *")      # a pointer type is fine
    for _ in range(2):                # and the error comes again
        with pytest.raises(ffi.error) as e:
            ffi.new("struct foo_s *")
        assert str(e.value).startswith(
            "struct foo_s: wrong offset for field 'b' (cdef says 0, but C "
            "compiler says 4). fix it or use \"...;\" ")
    with pytest.raises(ffi.error):
        ffi.sizeof("struct foo_s")


def test_verify_reports_mismatches_when_loading(tmp_path):
    ffi = FFI()
    ffi.cdef("struct foo_s { char x; int y; };")
    with pytest.raises(rcffi.VerificationError) as e:
        ffi.verify("struct foo_s { int y; char x; };", tmpdir=str(tmp_path))
    assert str(e.value) == ("struct foo_s: wrong offset for field 'x' "
                            "(we have 0, but C compiler says 4)")
    # the ffi keeps the layout of its cdef
    assert ffi.offsetof("struct foo_s", "y") == 4


def test_bitfields_and_dotdotdot_refused_in_cdef():
    with pytest.raises(NotImplementedError) as e:
        FFI().cdef("struct foo_s { int a:2, b:3; ...; };")
    assert str(e.value) == ("<struct foo_s>: using both bitfields and "
                            "'...;'")
