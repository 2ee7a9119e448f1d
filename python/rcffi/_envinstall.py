"""``python -m rcffi install-as-cffi`` / ``uninstall-as-cffi``.

Installing writes real files into an environment's site-packages, so that
every interpreter of the environment -- subprocesses and interpreters
embedded in C programs included, which see no import hooks -- gets rcffi
when it imports cffi:

    cffi/__init__.py             the cffi package, filled from rcffi
    cffi/RCFFI_SHIM              marker: what rcffi wrote (JSON)
    _cffi_backend<ext>.so        a symbolic link to rcffi's extension, which
                                 answers to both names as one module
                                 (crates/rcffi/src/entry.rs); where links
                                 cannot be made, _cffi_backend.py, a module
                                 that becomes rcffi._backend
    cffi-2.0.0.dist-info/        METADATA, INSTALLER, RECORD,
                                 entry_points.txt, top_level.txt

so that ``importlib.metadata.version("cffi") == "2.0.0"``, requirements
like ``cffi>=1.0`` are satisfied and setup(cffi_modules=...) works.
An upstream cffi in the same place is never touched: install refuses.
Uninstalling removes exactly the files listed in the marker (and the
bytecode Python cached for them).
"""

import base64
import hashlib
import json
import os
import sys
import sysconfig

__all__ = ['install', 'uninstall', 'status', 'default_target', 'InstallError']

CFFI_VERSION = "2.0.0"
DIST_INFO = "cffi-%s.dist-info" % (CFFI_VERSION,)
MARKER = "cffi/RCFFI_SHIM"
#: the Python stand-in for _cffi_backend, where no link can be made
BACKEND_SHIM = "_cffi_backend.py"


class InstallError(Exception):
    """Install or uninstall cannot proceed; the message says why."""


def default_target():
    """The site-packages directory of the running environment."""
    return sysconfig.get_path('purelib')


def _rcffi_parent_dir():
    import rcffi
    return os.path.dirname(os.path.dirname(os.path.abspath(rcffi.__file__)))


def _header(what):
    import rcffi
    return (
        "# %s\n"
        "# Written by `python -m rcffi install-as-cffi` (rcffi %s): in this\n"
        "# environment cffi is rcffi.  Undo: `python -m rcffi "
        "uninstall-as-cffi`.\n" % (what, rcffi.__version__))


def _import_block(rcffi_dir, statement):
    # An interpreter that does not process this directory as a site
    # directory (an embedded interpreter given it through PYTHONPATH, or
    # `python -S`) may not find an rcffi that a .pth file makes
    # importable: fall back to where rcffi was at install time.
    return (
        "try:\n"
        "    %s\n"
        "except ImportError:\n"
        "    import sys as _sys\n"
        "    if %r in _sys.path:\n"
        "        raise\n"
        "    _sys.path.append(%r)\n"
        "    %s\n"
        "    del _sys\n" % (statement, rcffi_dir, rcffi_dir, statement))


def _file_contents():
    """{relative path: bytes} of everything install writes except RECORD
    and the marker."""
    import rcffi
    rcffi_dir = _rcffi_parent_dir()
    files = {}
    files['cffi/__init__.py'] = (
        _header("cffi, provided by rcffi") +
        '"""cffi %s, provided by rcffi %s."""\n'
        % (CFFI_VERSION, rcffi.__version__) +
        _import_block(rcffi_dir, "import rcffi._alias as _rcffi_alias") +
        "_rcffi_alias._init_shim_package(globals())\n"
        "del _rcffi_alias\n")
    files[BACKEND_SHIM] = (
        _header("_cffi_backend, provided by rcffi") +
        # what rcffi._alias._init_shim_backend() does, without importing
        # _alias: every out-of-line module imports _cffi_backend
        _import_block(rcffi_dir, "from rcffi import _backend as _rcffi_backend") +
        "import sys as _sys\n"
        "_sys.modules[__name__] = _rcffi_backend\n")
    meta = DIST_INFO + '/'
    files[meta + 'METADATA'] = (
        "Metadata-Version: 2.1\n"
        "Name: cffi\n"
        "Version: %s\n"
        "Summary: Foreign Function Interface for Python calling C code "
        "(provided by rcffi %s)\n"
        "License: MIT\n"
        "Requires-Python: >=3.9\n"
        "\n"
        "This environment's cffi is rcffi %s, which implements the API of "
        "cffi %s.\nIt was installed by `python -m rcffi install-as-cffi`.\n"
        % (CFFI_VERSION, rcffi.__version__, rcffi.__version__, CFFI_VERSION))
    files[meta + 'INSTALLER'] = "rcffi\n"
    files[meta + 'top_level.txt'] = "_cffi_backend\ncffi\n"
    files[meta + 'entry_points.txt'] = (
        "[distutils.setup_keywords]\n"
        "cffi_modules = cffi.setuptools_ext:cffi_modules\n")
    return {k: v.encode('utf-8') for k, v in files.items()}


def _backend_link():
    """(name, target) of the link to make: ``_cffi_backend`` with the
    extension suffix of rcffi's own extension, to that file."""
    from rcffi import _backend
    path = os.path.realpath(_backend.__file__)
    suffix = os.path.basename(path)[len('_backend'):]
    return '_cffi_backend' + suffix, path


def _write_backend_link(target, files):
    """Link ``_cffi_backend<ext>`` to rcffi's extension: `import
    _cffi_backend` then loads the extension directly, without a Python
    module or the rcffi package around it.  Replaces the Python stand-in in
    'files' on success; returns the link's relative path, or None (no
    symbolic links here: the stand-in stays)."""
    name, dest = _backend_link()
    path = os.path.join(target, name)
    try:
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(dest, path)
    except (OSError, NotImplementedError, AttributeError):
        return None
    with open(dest, 'rb') as f:
        del files[BACKEND_SHIM]
        files[name] = f.read()     # for RECORD: the content it gives
    return name


def _record_line(relpath, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return '%s,sha256=%s,%d\n' % (relpath, digest.rstrip(b'=').decode(),
                                  len(data))


def _read_marker(target):
    path = os.path.join(target, *MARKER.split('/'))
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise InstallError("cannot read %s: %s" % (path, e))
    if not isinstance(data, dict) or not isinstance(data.get('files'), list):
        raise InstallError("%s is not a marker written by rcffi" % (path,))
    return data


def _foreign_cffi(target, ours):
    """Descriptions of cffi-related files in 'target' that rcffi did not
    write (ours: set of relative paths rcffi wrote)."""
    found = []
    try:
        names = os.listdir(target)
    except FileNotFoundError:
        return found
    for name in sorted(names):
        low = name.lower()
        if name == 'cffi':
            if 'cffi/__init__.py' not in ours:
                found.append('package %s' % (os.path.join(target, name),))
        elif low.startswith('_cffi_backend'):
            if name not in ours:
                found.append('module %s' % (os.path.join(target, name),))
        elif (low.startswith('cffi-') and
                low.endswith(('.dist-info', '.egg-info'))):
            if name + '/METADATA' not in ours:
                found.append('distribution metadata %s'
                             % (os.path.join(target, name),))
    return found


def status(target=None):
    """('absent' | 'rcffi' | 'upstream', details) for 'target'."""
    target = target or default_target()
    marker = _read_marker(target)
    ours = set(marker['files']) if marker else set()
    foreign = _foreign_cffi(target, ours)
    if foreign:
        return 'upstream', foreign
    if marker:
        return 'rcffi', marker
    return 'absent', None


def _byte_compile(path):
    """Write the bytecode of 'path' now (as pip does for what it installs),
    so that importing the shims costs no compilation even where Python does
    not write bytecode itself; uninstalling removes it with the source.
    Returns the bytecode's path, or None."""
    import py_compile
    try:
        return py_compile.compile(path, doraise=True)
    except (py_compile.PyCompileError, OSError):
        return None     # only an optimization


def _bytecode_of(path):
    """Cached bytecode files Python may have written for source 'path'."""
    directory, name = os.path.split(path)
    stem = os.path.splitext(name)[0]
    cache = os.path.join(directory, '__pycache__')
    try:
        names = os.listdir(cache)
    except OSError:
        return []
    return [os.path.join(cache, n) for n in names
            if n.startswith(stem + '.') and n.endswith('.pyc')]


def _remove_files(target, relpaths):
    removed = []
    dirs = set()
    for rel in relpaths:
        path = os.path.join(target, *rel.split('/'))
        victims = [path]
        if path.endswith('.py'):
            victims += _bytecode_of(path)
        for victim in victims:
            try:
                os.unlink(victim)
            except FileNotFoundError:
                continue
            removed.append(victim)
            dirs.add(os.path.dirname(victim))
    # remove the directories that became empty, deepest first (never the
    # target itself)
    target_abs = os.path.abspath(target)
    for directory in sorted(dirs, key=len, reverse=True):
        while os.path.abspath(directory) != target_abs:
            try:
                os.rmdir(directory)
            except OSError:
                break
            directory = os.path.dirname(directory)
    return removed


def install(target=None, out=sys.stdout):
    """Make the environment of site-packages directory 'target' (default:
    the running one's) answer to cffi with rcffi."""
    import rcffi
    target = os.path.abspath(target or default_target())
    if not os.path.isdir(target):
        raise InstallError("%s is not a directory" % (target,))
    state, details = status(target)
    if state == 'upstream':
        raise InstallError(
            "a cffi that rcffi did not install is present in %s:\n  %s\n"
            "rcffi will not overwrite it.  Uninstall it first (e.g. "
            "`%s -m pip uninstall cffi`), then run this again."
            % (target, '\n  '.join(details), os.path.basename(sys.executable)))
    if state == 'rcffi':
        try:
            _remove_files(target, details['files'])     # refresh
        except OSError as e:
            raise InstallError("cannot remove the previous installation "
                               "from %s: %s" % (target, e))

    files = _file_contents()
    written = []
    link = _write_backend_link(target, files)
    if link is not None:
        written.append(link)
    marker_rel = MARKER
    record_rel = DIST_INFO + '/RECORD'
    all_rel = sorted(files) + [marker_rel, record_rel]
    files[marker_rel] = (json.dumps({
        'written_by': 'rcffi',
        'rcffi_version': rcffi.__version__,
        'cffi_version': CFFI_VERSION,
        'files': all_rel,
    }, indent=1) + '\n').encode('utf-8')
    try:
        for rel in all_rel[:-1]:
            if rel == link:
                continue
            path = os.path.join(target, *rel.split('/'))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as f:
                f.write(files[rel])
            written.append(rel)
            if rel.endswith('.py'):
                pyc = _byte_compile(path)
                if pyc is not None:
                    with open(pyc, 'rb') as f:
                        rel_pyc = os.path.relpath(pyc, target).replace(os.sep, '/')
                        files[rel_pyc] = f.read()
        # RECORD last: it lists the bytecode written above too, as pip's does
        record = ''.join(_record_line(rel, files[rel]) for rel in sorted(files))
        record += '%s,,\n' % (record_rel,)
        with open(os.path.join(target, *record_rel.split('/')), 'wb') as f:
            f.write(record.encode('utf-8'))
        written.append(record_rel)
    except OSError as e:
        _remove_files(target, written)
        raise InstallError("cannot write into %s: %s" % (target, e))
    out.write("rcffi %s now stands in for cffi %s in %s\n"
              "(undo with: python -m rcffi uninstall-as-cffi)\n"
              % (rcffi.__version__, CFFI_VERSION, target))
    return [os.path.join(target, *rel.split('/')) for rel in all_rel]


def uninstall(target=None, out=sys.stdout):
    """Remove what install() wrote into 'target'."""
    target = os.path.abspath(target or default_target())
    marker = _read_marker(target)
    if marker is None:
        foreign = _foreign_cffi(target, set())
        if foreign:
            raise InstallError(
                "the cffi in %s was not installed by rcffi; leaving it "
                "alone:\n  %s" % (target, '\n  '.join(foreign)))
        out.write("nothing to do: rcffi does not stand in for cffi in %s\n"
                  % (target,))
        return []
    try:
        removed = _remove_files(target, marker['files'])
    except OSError as e:
        raise InstallError("cannot remove files from %s: %s" % (target, e))
    out.write("removed rcffi's cffi from %s (%d files)\n"
              % (target, len(removed)))
    return removed
