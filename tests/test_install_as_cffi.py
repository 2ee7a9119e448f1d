"""rcffi standing in for cffi: in-process (rcffi.install_as_cffi()) and for
a whole environment (python -m rcffi install-as-cffi).

Everything runs in a throwaway virtual environment created here: a plain
venv (no system site-packages, which may hold upstream cffi) in which rcffi
is importable through a .pth file pointing at a directory that holds only
the rcffi package under test.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile

import pytest

import rcffi


def run(argv, check=True, **kwds):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kwds)
    if check and proc.returncode != 0:
        raise AssertionError("%r failed (%d):\nstdout:\n%s\nstderr:\n%s" % (
            argv, proc.returncode, proc.stdout, proc.stderr))
    return proc


class Venv(object):
    def __init__(self, root):
        self.root = root
        bindir = 'Scripts' if sys.platform == 'win32' else 'bin'
        self.python = os.path.join(root, bindir, 'python')
        self.site = run([self.python, '-c',
                         'import sysconfig; print(sysconfig.get_path("purelib"))'
                         ]).stdout.strip()

    def py(self, code, check=True, **kwds):
        return run([self.python, '-c', textwrap.dedent(code)], check=check,
                   cwd=self.root, **kwds)

    def rcffi(self, *args, check=True):
        return run([self.python, '-m', 'rcffi'] + list(args), check=check,
                   cwd=self.root)


def snapshot(directory):
    """{relative path: sha256} of every file below 'directory'."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            result[os.path.relpath(path, directory)] = digest
    return result


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    base = tmp_path_factory.mktemp('venv')
    root = str(base / 'env')
    # the base interpreter: a venv made from inside a venv is based on the
    # same installation anyway
    run([sys.executable, '-m', 'venv', root])
    v = Venv(root)
    # a directory holding nothing but the rcffi under test
    only_rcffi = base / 'only-rcffi'
    only_rcffi.mkdir()
    os.symlink(os.path.dirname(os.path.abspath(rcffi.__file__)),
               str(only_rcffi / 'rcffi'))
    with open(os.path.join(v.site, 'rcffi-under-test.pth'), 'w') as f:
        f.write(str(only_rcffi) + '\n')
    v.only_rcffi = str(only_rcffi)
    out = v.py('import cffi', check=False)
    assert out.returncode != 0, "the throwaway venv must not have a cffi"
    v.py('import rcffi')
    return v


@pytest.fixture
def clean_venv(venv):
    """The venv, with rcffi certainly not installed as cffi afterwards."""
    yield venv
    venv.rcffi('uninstall-as-cffi', check=False)


# ------------------------------------------------------------- in-process

def test_in_process(venv):
    venv.py('''
        import sys, importlib
        import rcffi
        cffi_mod = rcffi.install_as_cffi()
        import cffi, _cffi_backend
        assert cffi is cffi_mod is sys.modules['cffi']
        assert cffi.FFI is rcffi.FFI
        for name in ('CDefError', 'FFIError', 'VerificationError',
                     'VerificationMissing', 'PkgConfigError'):
            assert getattr(cffi, name) is getattr(rcffi, name)
        assert cffi.__version__ == "2.0.0"
        assert cffi.__version_info__ == (2, 0, 0)
        assert _cffi_backend is rcffi._backend
        assert _cffi_backend.__version__ == "2.0.0"

        import cffi.model, rcffi.model
        assert cffi.model is rcffi.model
        assert cffi.model.__name__ == 'rcffi.model'
        assert cffi.model.__spec__.name == 'rcffi.model'
        from cffi import recompiler, ffiplatform
        assert recompiler is sys.modules['rcffi.recompiler']
        assert sys.modules['cffi.recompiler'] is recompiler
        for sub in ('api', 'backend_ctypes', 'cffi_opcode', 'error',
                    'setuptools_ext', 'verifier', '_imp_emulation'):
            m = importlib.import_module('cffi.' + sub)
            assert m is importlib.import_module('rcffi.' + sub), sub
        from cffi.cffi_opcode import PRIMITIVE_TO_INDEX
        from cffi.verifier import cleanup_tmpdir
        from cffi.backend_ctypes import CTypesBackend
        try:
            import cffi.no_such_module
        except ImportError:
            pass
        else:
            raise AssertionError("cffi.no_such_module imported")

        import importlib.util
        assert importlib.util.find_spec('cffi').name == 'cffi'
        assert importlib.util.find_spec('cffi.model') is not None
        assert rcffi.install_as_cffi() is cffi        # idempotent
        assert sys.modules['cffi'] is cffi
        print("ok")
    ''')


def test_in_process_replaces_an_imported_cffi(venv, tmp_path):
    fake = tmp_path / 'cffi'
    fake.mkdir()
    (fake / '__init__.py').write_text('__version__ = "1.0.fake"\n')
    (fake / 'model.py').write_text('FAKE = True\n')
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = venv.py('''
        import warnings
        import cffi, cffi.model
        assert cffi.__version__ == "1.0.fake"
        import rcffi
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            rcffi.install_as_cffi()
        assert any(issubclass(x.category, RuntimeWarning) for x in w)
        import cffi, cffi.model
        assert cffi.__version__ == "2.0.0"
        assert cffi.model is rcffi.model
        print("ok")
    ''', env=env)
    assert out.stdout.strip() == 'ok'


# ---------------------------------------------------------- the environment

CHECK_INSTALLED = '''
    import sys, importlib.metadata as md
    import cffi, _cffi_backend, rcffi
    import cffi.model, cffi.setuptools_ext
    assert cffi.FFI is rcffi.FFI
    assert _cffi_backend is rcffi._backend
    assert cffi.model is rcffi.model
    assert cffi.setuptools_ext is rcffi.setuptools_ext
    assert cffi.__version__ == "2.0.0" and cffi.__version_info__ == (2, 0, 0)
    assert rcffi.install_as_cffi() is cffi
    assert md.version("cffi") == "2.0.0"
    eps = [ep for ep in md.distribution("cffi").entry_points
           if ep.group == "distutils.setup_keywords"]
    assert [(ep.name, ep.value) for ep in eps] == [
        ("cffi_modules", "cffi.setuptools_ext:cffi_modules")], eps
    assert eps[0].load() is rcffi.setuptools_ext.cffi_modules
    print(cffi.__file__)
'''


def test_install_and_uninstall(clean_venv):
    venv = clean_venv
    before = snapshot(venv.site)
    out = venv.rcffi('install-as-cffi')
    assert 'now stands in for cffi' in out.stdout
    # _cffi_backend: a link to rcffi's extension, which answers to both names
    suffix = sysconfig.get_config_var('EXT_SUFFIX') or '.so'
    link = os.path.join(venv.site, '_cffi_backend' + suffix)
    if sys.platform.startswith('linux'):
        assert os.path.islink(link) and os.path.isfile(link)
    else:
        assert os.path.isfile(link) or os.path.isfile(
            os.path.join(venv.site, '_cffi_backend.py'))
    for rel in ('cffi/__init__.py', 'cffi/RCFFI_SHIM',
                'cffi-2.0.0.dist-info/METADATA',
                'cffi-2.0.0.dist-info/RECORD',
                'cffi-2.0.0.dist-info/INSTALLER',
                'cffi-2.0.0.dist-info/entry_points.txt'):
        assert os.path.isfile(os.path.join(venv.site, rel)), rel
    out = venv.py(CHECK_INSTALLED)
    assert out.stdout.strip() == os.path.join(venv.site, 'cffi', '__init__.py')
    # _cffi_backend first, then cffi: the same objects
    venv.py('''
        import _cffi_backend, rcffi, cffi
        assert _cffi_backend is rcffi._backend
        assert cffi.FFI is rcffi.FFI
        assert _cffi_backend.__spec__.name == _cffi_backend.__name__
    ''')
    # rcffi first: the same module, which keeps its own name and spec
    venv.py('''
        import rcffi, _cffi_backend
        assert _cffi_backend is rcffi._backend
        assert _cffi_backend.__name__ == _cffi_backend.__spec__.name
        ffi = rcffi.FFI()
        assert type(ffi.new("int *")) is _cffi_backend.__CDataOwn
    ''')
    assert 'is rcffi' in venv.rcffi('status').stdout

    # installing again refreshes, and leaves the same files
    installed = set(snapshot(venv.site))
    venv.rcffi('install-as-cffi')
    assert set(snapshot(venv.site)) == installed

    out = venv.rcffi('uninstall-as-cffi')
    assert 'removed' in out.stdout
    # bytecode that the imports above cached is gone too
    assert snapshot(venv.site) == before
    assert venv.py('import cffi', check=False).returncode != 0
    assert 'nothing to do' in venv.rcffi('uninstall-as-cffi').stdout
    assert 'no cffi' in venv.rcffi('status').stdout


def test_record_is_valid(clean_venv):
    venv = clean_venv
    venv.rcffi('install-as-cffi')
    with open(os.path.join(venv.site, 'cffi-2.0.0.dist-info', 'RECORD')) as f:
        lines = f.read().splitlines()
    assert 'cffi-2.0.0.dist-info/RECORD,,' in lines
    listed = set()
    for line in lines:
        rel, digest, size = line.split(',')
        listed.add(rel)
        if rel.endswith('RECORD'):
            continue
        with open(os.path.join(venv.site, rel), 'rb') as f:
            data = f.read()
        algo, _, b64 = digest.partition('=')
        assert algo == 'sha256'
        expected = base64.urlsafe_b64encode(
            hashlib.sha256(data).digest()).rstrip(b'=').decode()
        assert b64 == expected and int(size) == len(data), rel
    assert listed == {rel for rel in snapshot(venv.site)
                      if rel.startswith(('cffi', '_cffi_backend',
                                         '__pycache__/_cffi_backend'))}


def test_pip_uninstall_cffi_removes_it(clean_venv):
    venv = clean_venv
    before = snapshot(venv.site)
    venv.rcffi('install-as-cffi')
    venv.py('import cffi, _cffi_backend')
    run([venv.python, '-m', 'pip', 'uninstall', '-y', '-q', 'cffi'],
        cwd=venv.root)
    assert snapshot(venv.site) == before


def make_wheel(directory, name, requires):
    """A minimal pure-Python wheel of 'name' 1.0 that requires 'requires'."""
    dist_info = '%s-1.0.dist-info' % (name,)
    files = {
        '%s.py' % (name,): 'X = 1\n',
        dist_info + '/METADATA': 'Metadata-Version: 2.1\nName: %s\n'
                                 'Version: 1.0\nRequires-Dist: %s\n'
                                 % (name, requires),
        dist_info + '/WHEEL': 'Wheel-Version: 1.0\nGenerator: rcffi-tests\n'
                              'Root-Is-Purelib: true\nTag: py3-none-any\n',
    }
    record = ''.join('%s,,\n' % (rel,) for rel in files)
    files[dist_info + '/RECORD'] = record + dist_info + '/RECORD,,\n'
    path = os.path.join(directory, '%s-1.0-py3-none-any.whl' % (name,))
    with zipfile.ZipFile(path, 'w') as z:
        for rel, text in files.items():
            z.writestr(rel, text)
    return path


def test_requirements_on_cffi_are_satisfied(clean_venv, tmp_path):
    venv = clean_venv
    wheel = make_wheel(str(tmp_path), 'needs_cffi', 'cffi>=1.0')
    pip = [venv.python, '-m', 'pip', 'install', '--no-index',
           '--disable-pip-version-check', '-q', wheel]
    assert run(pip, check=False, cwd=venv.root).returncode != 0
    venv.rcffi('install-as-cffi')
    run(pip, cwd=venv.root)
    venv.py('import needs_cffi')
    out = run([venv.python, '-m', 'pip', 'check'], check=False,
              cwd=venv.root)
    assert 'cffi' not in out.stdout, out.stdout
    run([venv.python, '-m', 'pip', 'uninstall', '-y', '-q', 'needs_cffi'],
        cwd=venv.root)


def test_without_site_processing(clean_venv):
    """An interpreter that does not process the environment's .pth files
    (like an interpreter embedded in a C program, given site-packages on
    PYTHONPATH) still gets rcffi as cffi."""
    venv = clean_venv
    venv.rcffi('install-as-cffi')
    env = dict(os.environ, PYTHONPATH=venv.site)
    out = run([venv.python, '-S', '-c', textwrap.dedent(CHECK_INSTALLED)
               .replace('import sys, importlib.metadata as md',
                        'import sys, importlib.metadata as md\n'
                        'assert "rcffi" not in sys.modules')],
              env=env, cwd=venv.root)
    assert out.stdout.strip().endswith(os.path.join('cffi', '__init__.py'))


def test_subprocess_of_the_environment(clean_venv):
    venv = clean_venv
    venv.rcffi('install-as-cffi')
    venv.py('''
        import subprocess, sys
        subprocess.check_call([sys.executable, '-c',
            'import cffi, rcffi, _cffi_backend; '
            'assert cffi.FFI is rcffi.FFI and _cffi_backend is rcffi._backend'])
    ''')


EMBED_C = r'''
#include <Python.h>
int main(void)
{
    Py_Initialize();
    int rc = PyRun_SimpleString(
        "import cffi, _cffi_backend, rcffi\n"
        "assert cffi.FFI is rcffi.FFI\n"
        "assert _cffi_backend is rcffi._backend\n"
        "assert cffi.__version__ == '2.0.0'\n"
        "print('embedded:', cffi.__file__)\n");
    if (Py_FinalizeEx() < 0)
        rc = 1;
    return rc == 0 ? 0 : 1;
}
'''


def _embed_build_flags():
    cc = shutil.which('gcc') or shutil.which('cc')
    if cc is None or sys.platform == 'win32':
        return None
    if not sysconfig.get_config_var('Py_ENABLE_SHARED'):
        return None
    libdir = sysconfig.get_config_var('LIBDIR')
    return [cc, '-I', sysconfig.get_paths()['include'], '-L', libdir,
            '-Wl,-rpath,' + libdir]


@pytest.mark.skipif(_embed_build_flags() is None,
                    reason="needs a C compiler and a shared libpython")
def test_embedded_interpreter(clean_venv, tmp_path):
    venv = clean_venv
    venv.rcffi('install-as-cffi')
    src = tmp_path / 'embed.c'
    src.write_text(EMBED_C)
    exe = str(tmp_path / 'embed')
    ldversion = sysconfig.get_config_var('LDVERSION') or '%d.%d' % \
        sys.version_info[:2]
    run(_embed_build_flags() + [str(src), '-o', exe, '-lpython' + ldversion])
    # the embedded interpreter starts from the base installation, which
    # knows nothing of the venv: it is told about its site-packages only
    env = dict(os.environ, PYTHONPATH=venv.site)
    env.pop('PYTHONHOME', None)
    out = run([exe], env=env, cwd=str(tmp_path))
    assert out.stdout.strip() == 'embedded: ' + os.path.join(
        venv.site, 'cffi', '__init__.py')


# ------------------------------------------------------------- refusals

def fake_upstream(target):
    """What pip install cffi leaves in site-packages (enough of it)."""
    os.makedirs(os.path.join(target, 'cffi'))
    with open(os.path.join(target, 'cffi', '__init__.py'), 'w') as f:
        f.write('__version__ = "2.0.0"\n')
    os.makedirs(os.path.join(target, 'cffi-2.0.0.dist-info'))
    with open(os.path.join(target, 'cffi-2.0.0.dist-info', 'METADATA'),
              'w') as f:
        f.write('Metadata-Version: 2.1\nName: cffi\nVersion: 2.0.0\n')
    suffix = sysconfig.get_config_var('EXT_SUFFIX') or '.so'
    with open(os.path.join(target, '_cffi_backend' + suffix), 'wb') as f:
        f.write(b'\x7fELF not really')


def test_refuses_to_replace_upstream_cffi(venv, tmp_path):
    target = str(tmp_path / 'site')
    fake_upstream(target)
    before = snapshot(target)
    out = venv.rcffi('install-as-cffi', '--target', target, check=False)
    assert out.returncode == 1
    assert 'rcffi will not overwrite it' in out.stderr
    assert 'pip uninstall cffi' in out.stderr
    assert snapshot(target) == before
    out = venv.rcffi('uninstall-as-cffi', '--target', target, check=False)
    assert out.returncode == 1
    assert 'not installed by rcffi' in out.stderr
    assert snapshot(target) == before
    assert 'not rcffi' in venv.rcffi('status', '--target', target).stdout


@pytest.mark.parametrize('what', ['backend-only', 'dist-info-only'])
def test_refuses_partial_upstream(venv, tmp_path, what):
    target = str(tmp_path / 'site')
    fake_upstream(target)
    shutil.rmtree(os.path.join(target, 'cffi'))
    if what == 'dist-info-only':
        for name in os.listdir(target):
            if name.startswith('_cffi_backend'):
                os.unlink(os.path.join(target, name))
    before = snapshot(target)
    out = venv.rcffi('install-as-cffi', '--target', target, check=False)
    assert out.returncode == 1, out.stdout
    assert snapshot(target) == before


def test_install_into_explicit_target(venv, tmp_path):
    target = str(tmp_path / 'site')
    os.makedirs(target)
    venv.rcffi('install-as-cffi', '--target', target)
    assert os.path.isfile(os.path.join(target, 'cffi', '__init__.py'))
    venv.rcffi('uninstall-as-cffi', '--target', target)
    assert os.listdir(target) == []


def test_cli_usage(venv):
    out = venv.rcffi(check=False)
    assert out.returncode == 2
    out = venv.rcffi('version')
    assert out.stdout.strip() == 'rcffi %s (implements cffi 2.0.0)' % (
        rcffi.__version__,)
    out = venv.rcffi('install-as-cffi', '--target',
                     os.path.join(venv.root, 'no-such-dir'), check=False)
    assert out.returncode == 1 and 'not a directory' in out.stderr


def test_rcffi_registers_the_setup_keyword():
    import importlib.metadata as md
    try:
        dist = md.distribution('rcffi')
    except md.PackageNotFoundError:
        pytest.skip("rcffi is not installed as a distribution")
    eps = [(ep.name, ep.value) for ep in dist.entry_points
           if ep.group == 'distutils.setup_keywords']
    assert eps == [('cffi_modules', 'rcffi.setuptools_ext:cffi_modules')]


def test_setup_keyword_steps_aside_for_upstream_cffi(clean_venv, tmp_path):
    """rcffi's cffi_modules hook handles the keyword unless an upstream cffi
    is importable (whose own hook then does)."""
    venv = clean_venv
    code = '''
        from rcffi.setuptools_ext import _upstream_cffi_is_present, cffi_modules
        upstream = _upstream_cffi_is_present()
        if upstream:
            class Dist(object):
                pass
            # a no-op: it would fail on the missing build script otherwise
            cffi_modules(Dist(), 'cffi_modules', ['missing_build.py:ffi'])
        print(upstream)
    '''
    assert venv.py(code).stdout.strip() == 'False'      # no cffi at all
    venv.rcffi('install-as-cffi')
    assert venv.py(code).stdout.strip() == 'False'      # rcffi's, on disk
    venv.rcffi('uninstall-as-cffi')
    fake = str(tmp_path / 'upstream')
    fake_upstream(fake)
    env = dict(os.environ, PYTHONPATH=fake)
    assert venv.py(code, env=env).stdout.strip() == 'True'
