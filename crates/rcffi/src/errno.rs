//! `ffi.errno`: the C errno as of the last call made through rcffi on this thread. It is
//! restored into the real errno before each call and saved right after, so Python code running
//! in between (which may clobber errno) does not disturb it.

use std::cell::Cell;

thread_local! {
    static SAVED: Cell<i32> = const { Cell::new(0) };
}

pub fn get() -> i32 {
    SAVED.with(|s| s.get())
}

pub fn set(value: i32) {
    SAVED.with(|s| s.set(value))
}

/// Put the saved value into the real errno (before a C call).
pub fn restore() {
    // SAFETY: __errno_location() returns this thread's errno slot.
    unsafe { *libc::__errno_location() = get() };
}

/// Save the real errno (after a C call).
pub fn save() {
    // SAFETY: as above.
    set(unsafe { *libc::__errno_location() });
}
