"""How the extension is linked: the unwinder is inside it (build.rs), and a
Rust panic still reaches Python as an exception rather than aborting."""

import subprocess
import sys

import pytest

from rcffi import _backend


def test_panic_is_an_exception():
    # pyo3 raises PanicException, a BaseException: catch everything.
    with pytest.raises(BaseException) as info:
        _backend._test_panic()
    assert "deliberate panic" in str(info.value)
    # and the interpreter goes on working
    assert _backend._testfunc(0) != 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF only")
def test_no_shared_unwinder_needed():
    # libgcc_s.so.1 costs more to load than the extension itself (build.rs)
    try:
        out = subprocess.run(["readelf", "-d", _backend.__file__],
                             capture_output=True, text=True).stdout
    except OSError:
        pytest.skip("no readelf")
    needed = [line for line in out.splitlines() if "(NEEDED)" in line]
    assert needed, out
    assert not any("libgcc_s" in line for line in needed), needed
