//! Taking the GIL on entry from C (callbacks, `extern "Python"` functions), from any thread.
//!
//! A thread that C created has no Python thread state: `PyGILState_Ensure` makes one, and the
//! matching `PyGILState_Release` would delete it again. Then whatever Python keeps per thread
//! (`threading.local()` data, for one) would not last from one call to the next, and every call
//! would pay for a new thread state. So, like upstream cffi, the first time we make a thread
//! state for a thread we take one more nesting level of `PyGILState_Ensure` and keep it until the
//! thread ends: the state then lives as long as its thread.

use std::cell::Cell;

use pyo3::ffi;

/// The GIL taken with `PyGILState_Ensure`, released on drop.
pub(crate) struct GilState(Option<ffi::PyGILState_STATE>);

impl GilState {
    pub(crate) fn ensure() -> GilState {
        // SAFETY: Py_IsInitialized may be called at any time.
        if unsafe { ffi::Py_IsInitialized() } == 0 {
            return GilState(None);
        }
        // SAFETY: with an initialized interpreter, PyGILState_GetThisThreadState and
        // PyGILState_Ensure work from any thread, whether it holds the GIL or not.
        let state = unsafe {
            let had_state = !ffi::PyGILState_GetThisThreadState().is_null();
            let state = ffi::PyGILState_Ensure();
            if !had_state {
                keep_thread_state();
            }
            state
        };
        GilState(Some(state))
    }
}

impl GilState {
    /// Whether the GIL was taken (false when there is no initialized interpreter).
    pub(crate) fn held(&self) -> bool {
        self.0.is_some()
    }
}

impl Drop for GilState {
    fn drop(&mut self) {
        if let Some(state) = self.0 {
            // SAFETY: pairs with the PyGILState_Ensure above, on the same thread.
            unsafe { ffi::PyGILState_Release(state) };
        }
    }
}

/// Holds the extra nesting level of this thread's state, if we took one; gives it back when the
/// thread ends.
struct KeptState(Cell<bool>);

thread_local! {
    static KEPT: KeptState = const { KeptState(Cell::new(false)) };
}

/// With the GIL, on a thread whose state `PyGILState_Ensure` just made.
fn keep_thread_state() {
    // try_with: nothing to do if the thread is already tearing down its thread-locals.
    let _ = KEPT.try_with(|kept| {
        if !kept.0.replace(true) {
            // SAFETY: this thread holds the GIL, so this nested call only counts one more
            // level (and returns PyGILState_LOCKED, given back in KeptState's drop).
            let _ = unsafe { ffi::PyGILState_Ensure() };
        }
    });
}

impl Drop for KeptState {
    fn drop(&mut self) {
        if !self.0.get() {
            return;
        }
        // SAFETY: Py_IsInitialized may be called at any time. An interpreter that was
        // finalized since has deleted the thread state itself.
        if unsafe { ffi::Py_IsInitialized() } == 0 {
            return;
        }
        // SAFETY: the thread still has the state we kept (its nesting count is at least 1). Take
        // the GIL with it, give back the level kept in keep_thread_state(), then release: the
        // count reaches zero and CPython deletes the state, releasing the GIL.
        unsafe {
            let state = ffi::PyGILState_Ensure();
            ffi::PyGILState_Release(ffi::PyGILState_STATE::PyGILState_LOCKED);
            ffi::PyGILState_Release(state);
        }
    }
}
