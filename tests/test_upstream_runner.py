"""tests/upstream/run.py, the conformance ratchet, run on a small fake
sdist: per-file accounting, crashes and timeouts, the passing list."""
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import xml.etree.ElementTree as ET

import pytest

RUN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'upstream', 'run.py')

FAKE_FILES = {
    'testing/__init__.py': '',
    'testing/support.py': '''
        from cffi._imp_emulation import load_dynamic

        def _verify():
            from cffi.recompiler import recompile
            return recompile
        ''',
    'testing/test_support_ok.py': '''
        from testing import support

        def test_support_works():
            assert callable(support.load_dynamic)
            assert callable(support._verify())
        ''',
    'src/cffi/__init__.py': 'raise ImportError("upstream cffi must be gone")\n',
    'testing/test_a.py': '''
        import os, pytest

        def test_pass1():
            pass

        def test_pass2():
            pass

        def test_fail():
            assert 0

        def test_skip():
            pytest.skip("no")

        @pytest.fixture
        def broken():
            raise RuntimeError("setup fails")

        def test_error(broken):
            pass

        def test_upstream_package_removed():
            here = os.path.dirname(os.path.abspath(__file__))
            assert not os.path.exists(os.path.join(here, '..', 'src', 'cffi'))

        def test_cwd_is_empty():
            assert os.listdir('.') == []
        ''',
    'testing/test_crash.py': '''
        import ctypes

        def test_before():
            pass

        def test_boom():
            ctypes.string_at(0)         # segfault

        def test_after():
            pass
        ''',
    'testing/test_slow.py': '''
        import time

        def test_quick():
            pass

        def test_sleeps():
            time.sleep(120)
        ''',
    'testing/test_broken_import.py': 'import no_such_module_anywhere\n',
}


@pytest.fixture(scope='module')
def sdist(tmp_path_factory):
    base = tmp_path_factory.mktemp('sdist')
    root = base / 'cffi-2.0.0'
    for rel, text in FAKE_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    tgz = base / 'cffi-2.0.0.tar.gz'
    with tarfile.open(str(tgz), 'w:gz') as tar:
        tar.add(str(root), arcname='cffi-2.0.0')
    return str(tgz)


def ratchet(tmp_path, sdist, files, passing_lines, *extra, timeout=60):
    files_txt = tmp_path / 'files.txt'
    files_txt.write_text('# comment\n' + '\n'.join(files) + '\n')
    passing = tmp_path / 'passing.txt'
    if passing_lines is not None:
        passing.write_text('\n'.join(passing_lines) + '\n')
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, RUN_PY, '--python', sys.executable, '--sdist', sdist,
         '--files-list', str(files_txt), '--passing', str(passing),
         '--out', str(out), '--timeout', str(timeout)] + list(extra),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, cwd=str(tmp_path))
    return proc, out, passing


def test_accounting_crash_and_timeout(tmp_path, sdist):
    proc, out, _ = ratchet(
        tmp_path, sdist,
        ['testing/test_a.py', 'testing/test_crash.py', 'testing/test_slow.py',
         'testing/test_broken_import.py', 'testing/test_missing.py'],
        ['testing/test_a.py::test_pass1', 'testing/test_crash.py::test_before',
         'testing/test_slow.py::test_quick'],
        timeout=12)
    text = proc.stdout
    assert proc.returncode == 0, text
    assert ('testing/test_a.py passed=4 failed=1 skipped=1 errors=1'
            in text), text
    # the crash keeps what ran before it and counts the crashing test
    assert 'testing/test_crash.py passed=1 failed=0 skipped=0 errors=1' in text
    assert 'crashed (SIGSEGV)' in text
    assert 'testing/test_slow.py passed=1 failed=0 skipped=0 errors=1' in text
    assert 'timeout after 12s' in text
    assert 'testing/test_broken_import.py passed=0 failed=0 skipped=0 errors=1' \
        in text
    assert 'testing/test_missing.py passed=0 failed=0 skipped=0 errors=1' in text
    # passing but not listed
    for nodeid in ('testing/test_a.py::test_pass2',
                   'testing/test_a.py::test_upstream_package_removed',
                   'testing/test_a.py::test_cwd_is_empty'):
        assert '  + ' + nodeid in text
    assert 'ratchet OK' in text

    suites = ET.parse(str(out / 'junit.xml')).getroot()
    names = [s.get('name') for s in suites]
    assert names == ['testing/test_a.py', 'testing/test_crash.py',
                     'testing/test_slow.py', 'testing/test_broken_import.py',
                     'testing/test_missing.py']
    with open(str(out / 'results.json')) as f:
        results = {r['file']: r for r in json.load(f)}
    assert results['testing/test_crash.py']['unfinished'] == [
        'testing/test_crash.py::test_boom']


def test_regressions_fail_the_run(tmp_path, sdist):
    proc, _, passing = ratchet(
        tmp_path, sdist, ['testing/test_a.py', 'testing/test_crash.py'],
        ['testing/test_a.py::test_pass1', 'testing/test_a.py::test_fail',
         'testing/test_crash.py::test_after',
         'testing/test_a.py::test_no_longer_exists',
         'testing/test_other.py::test_not_run'])
    text = proc.stdout
    assert proc.returncode == 1, text
    assert 'REGRESSION: 3 tests in passing.txt did not pass' in text
    assert '  - testing/test_a.py::test_fail: failed' in text
    assert '  - testing/test_crash.py::test_after: not run' in text
    assert '  - testing/test_a.py::test_no_longer_exists: not run' in text
    assert 'testing/test_other.py' in text      # reported as not checked
    assert 'test_pass1: ' not in text


def test_update_only_adds(tmp_path, sdist):
    listed = ['# header', 'testing/test_a.py::test_fail',
              'testing/test_a.py::test_pass1']
    proc, _, passing = ratchet(tmp_path, sdist, ['testing/test_a.py'],
                               listed, '--update')
    assert proc.returncode == 1             # test_fail is still listed
    lines = passing.read_text().splitlines()
    assert lines[:3] == listed
    assert sorted(lines[3:]) == [
        'testing/test_a.py::test_cwd_is_empty',
        'testing/test_a.py::test_pass2',
        'testing/test_a.py::test_upstream_package_removed']
    # a second update adds nothing
    proc, _, passing = ratchet(tmp_path, sdist, ['testing/test_a.py'],
                               None, '--update')
    assert passing.read_text().splitlines() == lines


def test_empty_list_and_explicit_files(tmp_path, sdist):
    proc, _, _ = ratchet(tmp_path, sdist, ['testing/test_crash.py'], [],
                         'testing/test_a.py', '-k', 'pass1 or fail')
    text = proc.stdout
    assert proc.returncode == 0, text
    assert 'testing/test_a.py passed=1 failed=1 skipped=0 errors=0' in text
    assert 'testing/test_crash.py passed' not in text


def test_bad_sdist_is_a_setup_error(tmp_path):
    proc, _, _ = ratchet(tmp_path, str(tmp_path / 'missing.tar.gz'),
                         ['testing/test_a.py'], [])
    assert proc.returncode == 2
    assert 'no such file' in proc.stdout


def test_support_fallbacks_without_cffi_internals(tmp_path, sdist):
    """With an interpreter whose cffi lacks cffi._imp_emulation and
    cffi.recompiler, testing/support.py gets stand-ins for both."""
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'cffi.py').write_text('raise ImportError("no cffi here")\n')
    wrapper = tmp_path / 'python-without-cffi'
    wrapper.write_text('#!/bin/sh\nPYTHONPATH=%s${PYTHONPATH:+:$PYTHONPATH} '
                       'exec %s "$@"\n' % (broken, sys.executable))
    wrapper.chmod(0o755)
    files_txt = tmp_path / 'files.txt'
    files_txt.write_text('testing/test_support_ok.py\n')
    proc = subprocess.run(
        [sys.executable, RUN_PY, '--python', str(wrapper), '--sdist', sdist,
         '--files-list', str(files_txt),
         '--passing', str(tmp_path / 'passing.txt'),
         '--out', str(tmp_path / 'out')],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout
    assert 'testing/test_support_ok.py passed=1 failed=0' in proc.stdout
    assert "this interpreter's cffi is not rcffi" in proc.stdout
