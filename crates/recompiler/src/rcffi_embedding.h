/* rcffi: the support code of embedding modules (ffi.embedding_api()), inlined by the generator
   after rcffi_include.h and before the user's C source.  The generator defines before it:

     _CFFI_MODULE_NAME          the module name, a C string literal
     _CFFI_PYTHON_STARTUP_FUNC  the module's init function, PyInit_<name>
     _CFFI_PYTHON_STARTUP_CODE  the code of ffi.embedding_init_code(), UTF-8, 0-terminated

   The generated extern "Python" functions call through '_cffi_call_python'.  Here that is a
   function pointer of this module: until the module is ready it points to
   _rcffi_embed_first_call(), which
     1. starts the Python interpreter unless someone did already (once per process: every
        embedding module of the process shares the one interpreter),
     2. then, once per module, creates the module (its init function registers it in
        sys.modules, so the init code can 'from <name> import ffi, lib') and runs the init code,
        which attaches the Python functions with @ffi.def_extern();
   and then it points to the runtime's function (slot _CFFI_CPIDX of _cffi_exports), which
   finds the attached function and calls it.

   Threads: the first calls may come from several threads at once.  Starting the interpreter
   is serialised across all modules by a lock word that lives in the Python library (see
   _rcffi_embed_start_interpreter()); the module's own start is serialised by a recursive
   mutex of the module, so that a thread calling while another one runs the init code waits for
   it, while the init code itself may call the module's functions. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#if defined(_WIN32)
#  include <windows.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* "export this from the DLL", for the user's C source as well */
#if defined(_WIN32)
#  define CFFI_DLLEXPORT  __declspec(dllexport)
#elif defined(__GNUC__)
#  define CFFI_DLLEXPORT  __attribute__((visibility("default")))
#else
#  define CFFI_DLLEXPORT
#endif

typedef void (*_rcffi_call_python_fn)(struct _cffi_externpy_s *, char *);

/* ---- atomics: publishing a pointer, and a compare-and-swap for the process-wide lock ---- */

#if defined(_MSC_VER)
/* MSVC: volatile accesses have acquire/release semantics on x86 and x64 (/volatile:ms);
   elsewhere a full barrier goes along. */
static void *_rcffi_load_acquire(void *const volatile *p)
{
    void *v = *p;
    MemoryBarrier();
    return v;
}
static void _rcffi_store_release(void *volatile *p, void *v)
{
    InterlockedExchangePointer((PVOID volatile *)p, v);
}
static int _rcffi_cas(void *volatile *p, void *expected, void *desired)
{
    return InterlockedCompareExchangePointer((PVOID volatile *)p, desired, expected) == expected;
}
#  define _rcffi_yield()  SwitchToThread()
#else
#  include <pthread.h>
#  include <sched.h>
static void *_rcffi_load_acquire(void *const volatile *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
static void _rcffi_store_release(void *volatile *p, void *v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static int _rcffi_cas(void *volatile *p, void *expected, void *desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0,
                                       __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
#  define _rcffi_yield()  sched_yield()
#endif

/* ---- what the extern "Python" functions call ---- */

static void _rcffi_embed_first_call(struct _cffi_externpy_s *, char *);

/* _rcffi_embed_first_call until the module is ready, then the runtime's function.  Stored as a
   'void *' for the atomics (fine on every platform CPython runs on). */
static void *volatile _rcffi_embed_call = (void *)&_rcffi_embed_first_call;

static _rcffi_call_python_fn _rcffi_embed_current(void)
{
    /* acquire: whoever sees the runtime's function also sees the module it set up */
    return (_rcffi_call_python_fn)_rcffi_load_acquire(&_rcffi_embed_call);
}

#undef _cffi_call_python
#define _cffi_call_python  (_rcffi_embed_current())

/* ---- step 1: the interpreter, once per process ---- */

/* Several embedding modules (each with its own copy of this code) may start at the same time
   in different threads; Py_InitializeEx() must run once, and not concurrently with itself.
   The only memory they all share is the Python library's, so the lock is a word there:
   PyCapsule_Type.tp_as_buffer, which is NULL (capsules have no buffer interface) and which
   nothing else writes after Python is built.  Taking the lock swaps it from NULL to the address
   of an all-NULL PyBufferProcs, which readers still take for "no buffer interface".  cffi's own
   embedding modules use that same word in the same way on Python 3.12 and later, so with those
   the two kinds exclude each other too.  The lock is held for as long as Py_InitializeEx()
   takes: waiters yield their time slice. */
static void _rcffi_embed_start_interpreter(void)
{
    static PyBufferProcs no_buffer_procs;   /* all NULL */
    void *volatile *word = (void *volatile *)&PyCapsule_Type.tp_as_buffer;

    while (!_rcffi_cas(word, NULL, (void *)&no_buffer_procs))
        _rcffi_yield();

    if (!Py_IsInitialized()) {
        /* 0: leave the signal handlers to the application */
        Py_InitializeEx(0);
        /* Py_InitializeEx() returns holding the GIL with the main thread state.  Release it:
           from now on, every thread (this one included) takes it with PyGILState_Ensure(),
           which finds this thread's state again. */
        PyEval_SaveThread();
    }

    _rcffi_store_release(word, NULL);
}

/* ---- step 2: the module, once ---- */

/* the module's recursive mutex */
#if defined(_MSC_VER)
static INIT_ONCE _rcffi_embed_once = INIT_ONCE_STATIC_INIT;
static CRITICAL_SECTION _rcffi_embed_mutex;    /* recursive by nature */

static BOOL CALLBACK _rcffi_embed_make_mutex(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once; (void)param; (void)context;
    InitializeCriticalSection(&_rcffi_embed_mutex);
    return TRUE;
}
static void _rcffi_embed_lock(void)
{
    InitOnceExecuteOnce(&_rcffi_embed_once, _rcffi_embed_make_mutex, NULL, NULL);
    EnterCriticalSection(&_rcffi_embed_mutex);
}
static void _rcffi_embed_unlock(void)
{
    LeaveCriticalSection(&_rcffi_embed_mutex);
}
#else
static pthread_once_t _rcffi_embed_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t _rcffi_embed_mutex;

static void _rcffi_embed_make_mutex(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&_rcffi_embed_mutex, &attr);
    pthread_mutexattr_destroy(&attr);
}
static void _rcffi_embed_lock(void)
{
    pthread_once(&_rcffi_embed_once, _rcffi_embed_make_mutex);
    pthread_mutex_lock(&_rcffi_embed_mutex);
}
static void _rcffi_embed_unlock(void)
{
    pthread_mutex_unlock(&_rcffi_embed_mutex);
}
#endif

enum { _RCFFI_EMBED_NEW, _RCFFI_EMBED_STARTING, _RCFFI_EMBED_READY, _RCFFI_EMBED_FAILED };
/* only read and written with the module's mutex held */
static int _rcffi_embed_status = _RCFFI_EMBED_NEW;

PyMODINIT_FUNC _CFFI_PYTHON_STARTUP_FUNC(void);

/* The exception being raised, to stderr, with what helps finding out why: usually sys.path
   or a _cffi_backend that is not the expected one.  With the GIL. */
static void _rcffi_embed_report_failure(void)
{
    PyObject *backend, *where, *path;

    PySys_WriteStderr("Failed to initialize the Python-CFFI embedding logic:\n\n");
    /* the traceback; not with PyErr_Print(), which would exit the process on SystemExit */
#if PY_VERSION_HEX >= 0x030C0000
    {
        PyObject *exc = PyErr_GetRaisedException();
        if (exc != NULL) {
            PyErr_DisplayException(exc);
            Py_DECREF(exc);
        }
    }
#else
    {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (type != NULL) {
            PyErr_NormalizeException(&type, &value, &tb);
            PyErr_Display(type, value, tb);
        }
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
#endif

    backend = PyDict_GetItemString(PyImport_GetModuleDict(), "_cffi_backend");   /* borrowed */
    where = backend != NULL ? PyObject_GetAttrString(backend, "__file__") : NULL;
    if (where == NULL) {
        PyErr_Clear();
        where = PyUnicode_FromString(backend != NULL ? "(no __file__)" : "not loaded");
    }
    path = PySys_GetObject("path");   /* borrowed */
    PySys_FormatStderr("\nFrom: %s\ncompiled with cffi version: 2.0.0 (rcffi)\n"
                       "_cffi_backend module: %S\nsys.path: %R\n\n",
                       _CFFI_MODULE_NAME, where != NULL ? where : Py_None,
                       path != NULL ? path : Py_None);
    Py_XDECREF(where);
    PyErr_Clear();
}

/* Create the module and run the init code; 0 if all went well.  With the GIL. */
static int _rcffi_embed_init_module(void)
{
    PyObject *module, *code, *globals, *builtins, *result = NULL;

    /* as if imported: registers the module in sys.modules and fills in _cffi_exports */
    module = _CFFI_PYTHON_STARTUP_FUNC();
    if (module == NULL)
        goto failed;
    Py_DECREF(module);

    code = Py_CompileString(_CFFI_PYTHON_STARTUP_CODE,
                            "<init code for '" _CFFI_MODULE_NAME "'>", Py_file_input);
    if (code == NULL)
        goto failed;
    /* a namespace of its own, with the builtins (int(), open()...) */
    globals = PyDict_New();
    builtins = PyEval_GetBuiltins();   /* borrowed */
    if (globals != NULL && builtins != NULL &&
        PyDict_SetItemString(globals, "__builtins__", builtins) == 0)
        result = PyEval_EvalCode(code, globals, globals);
    Py_XDECREF(globals);
    Py_DECREF(code);
    if (result == NULL)
        goto failed;
    Py_DECREF(result);
    return 0;

 failed:
    _rcffi_embed_report_failure();
    return -1;
}

/* Steps 1 and 2; returns the runtime's function, or NULL if the module could not be set up. */
static _rcffi_call_python_fn _rcffi_embed_start(void)
{
    _rcffi_call_python_fn result;

    _rcffi_embed_start_interpreter();

    /* Without the GIL here: the thread running the init code may release it (and must be able
       to, if it waits for other threads) while the others wait for the mutex. */
    _rcffi_embed_lock();
    if (_rcffi_embed_status == _RCFFI_EMBED_NEW) {
        PyGILState_STATE gil;
        int failed;

        _rcffi_embed_status = _RCFFI_EMBED_STARTING;
        gil = PyGILState_Ensure();
        failed = _rcffi_embed_init_module();
        PyGILState_Release(gil);
        _rcffi_embed_status = failed ? _RCFFI_EMBED_FAILED : _RCFFI_EMBED_READY;
        if (!failed)
            _rcffi_store_release(&_rcffi_embed_call, _cffi_exports[_CFFI_CPIDX]);
    }
    /* _RCFFI_EMBED_STARTING here: a call made by the init code itself (the mutex is recursive);
       the module exists by then, so the runtime can take it. */
    if (_rcffi_embed_status == _RCFFI_EMBED_FAILED)
        result = NULL;
    else
        result = (_rcffi_call_python_fn)_cffi_exports[_CFFI_CPIDX];
    _rcffi_embed_unlock();
    return result;
}

static void _rcffi_embed_first_call(struct _cffi_externpy_s *externpy, char *args)
{
    _rcffi_call_python_fn call;
    /* the C caller's errno belongs to the call (ffi.errno), not to the start-up */
    int saved_errno = errno;
#if defined(_WIN32)
    DWORD saved_lasterror = GetLastError();
#endif

    call = _rcffi_embed_start();

#if defined(_WIN32)
    SetLastError(saved_lasterror);
#endif
    errno = saved_errno;
    if (call == NULL) {
        fprintf(stderr, "function %s() called, but initialization code failed.  "
                        "Returning 0.\n", externpy->name);
        memset(args, 0, externpy->size_of_result);
        return;
    }
    call(externpy, args);
}

/* For the user's C code: start Python and this module now, rather than at the first call of
   one of its functions.  0 on success, -1 if the init failed (after its report to stderr). */
_CFFI_UNUSED_FN static int cffi_start_python(void)
{
    if (_rcffi_embed_current() != &_rcffi_embed_first_call)
        return 0;
    return _rcffi_embed_start() != NULL ? 0 : -1;
}

#ifdef __cplusplus
}
#endif
