"""rcffi standing in for cffi inside the running interpreter.

After install_as_cffi():

* ``import cffi`` gives a module whose public names are rcffi's
  (``cffi.FFI is rcffi.FFI``) and whose ``__version__`` is cffi's, 2.0.0;
* ``import cffi.X`` gives the module object ``rcffi.X`` itself, for every
  submodule rcffi has (model, api, recompiler, setuptools_ext, ...);
* ``import _cffi_backend`` gives ``rcffi._backend``.

The top-level ``cffi`` package and ``_cffi_backend`` module files that
``python -m rcffi install-as-cffi`` writes call into this module, so the
in-process route and the installed route give the same objects.
"""

import sys

# importlib, types and warnings are imported where needed: `import
# _cffi_backend` (every out-of-line module does it) only needs
# _init_shim_backend(), and should cost little more than the extension.

__all__ = ['install_as_cffi']

#: the submodules of upstream's cffi package that rcffi provides
SUBMODULES = ('api', 'backend_ctypes', 'cffi_opcode', 'error', 'ffiplatform',
              'model', 'pkgconfig', 'recompiler', 'setuptools_ext',
              'verifier', '_imp_emulation')

_PUBLIC = ('FFI', 'CDefError', 'FFIError', 'VerificationError',
           'VerificationMissing', 'PkgConfigError')


class _CffiSubmoduleFinder(object):
    """Serve ``cffi.X`` as the already existing module ``rcffi.X``: a meta
    path finder that is its own loader.  (Not derived from importlib.abc,
    whose import alone costs more than all of rcffi's Python code.)"""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith('cffi.'):
            return None
        cffi_mod = sys.modules.get('cffi')
        if cffi_mod is None or not getattr(cffi_mod, '__rcffi__', False):
            return None
        sub = fullname[len('cffi.'):]
        if sub not in SUBMODULES:
            return None
        import importlib.machinery
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        import importlib
        sub = spec.name[len('cffi.'):]
        module = importlib.import_module('rcffi.' + sub)
        # the import machinery overwrites __spec__ of what we return;
        # remember the real one and put it back in exec_module()
        self._real_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        real = self._real_specs.pop(module.__spec__.name, None)
        if real is not None:
            module.__spec__ = real

    _real_specs = {}


_finder = _CffiSubmoduleFinder()


def _is_ours(mod):
    return mod is not None and getattr(mod, '__rcffi__', False)


def _fill_cffi_namespace(ns):
    """Give the namespace dict 'ns' of a module the contents of upstream's
    top-level cffi package, from rcffi."""
    import rcffi
    for name in _PUBLIC:
        ns[name] = getattr(rcffi, name)
    ns['__all__'] = ['FFI', 'VerificationError', 'VerificationMissing',
                     'CDefError', 'FFIError']
    ns['__version__'] = rcffi.__cffi_version__
    ns['__version_info__'] = rcffi.__cffi_version_info__
    ns['__version_verifier_modules__'] = "0.8.6"
    ns['__rcffi__'] = True
    ns['__rcffi_version__'] = rcffi.__version__
    ns['install_as_cffi'] = rcffi.install_as_cffi
    ns.setdefault('__path__', [])
    ns.setdefault('__file__', rcffi.__file__)
    ns.setdefault('__doc__', "rcffi standing in for cffi %s"
                  % (rcffi.__cffi_version__,))


def _activate(cffi_mod):
    """Register 'cffi_mod' (already filled) as cffi, its submodules as
    rcffi's, and rcffi._backend as _cffi_backend."""
    from rcffi import _backend
    old = sys.modules.get('cffi')
    if old is not None and old is not cffi_mod and not _is_ours(old):
        import warnings
        warnings.warn("rcffi.install_as_cffi(): replacing the cffi module "
                      "already imported from %r; objects created with it "
                      "stay upstream cffi's"
                      % (getattr(old, '__file__', old),), RuntimeWarning,
                      stacklevel=3)
    if old is not cffi_mod:
        # forget submodules of a previously imported (other) cffi
        for name in list(sys.modules):
            if name.startswith('cffi.'):
                del sys.modules[name]
    sys.modules['cffi'] = cffi_mod
    sys.modules['_cffi_backend'] = _backend
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    # submodules that rcffi has loaded already are attached right away;
    # the others come through the finder on first import
    for sub in SUBMODULES:
        real = sys.modules.get('rcffi.' + sub)
        if real is not None:
            sys.modules['cffi.' + sub] = real
            setattr(cffi_mod, sub, real)
    return cffi_mod


def install_as_cffi():
    """Make ``import cffi``, ``import cffi.<submodule>`` and
    ``import _cffi_backend`` give rcffi in this interpreter.  Returns the
    module now known as ``cffi``.  Idempotent."""
    current = sys.modules.get('cffi')
    if _is_ours(current):
        return _activate(current)
    import importlib.machinery
    import types
    mod = types.ModuleType('cffi')
    # a package spec, so that importlib.util.find_spec('cffi') answers
    mod.__spec__ = importlib.machinery.ModuleSpec('cffi', None,
                                                  is_package=True)
    mod.__package__ = 'cffi'
    _fill_cffi_namespace(mod.__dict__)
    return _activate(mod)


def _init_shim_package(ns):
    """Called by the ``cffi/__init__.py`` that install-as-cffi writes:
    turn that module (namespace dict 'ns') into rcffi's cffi."""
    _fill_cffi_namespace(ns)
    _activate(sys.modules[ns['__name__']])


def _init_shim_backend(name):
    """Called by the ``_cffi_backend.py`` that install-as-cffi writes:
    make the module being imported as 'name' be rcffi._backend."""
    from rcffi import _backend
    sys.modules[name] = _backend
