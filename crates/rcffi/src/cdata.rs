//! `CData`: a C value seen from Python — a ctype, an address, and what keeps the memory alive.
//!
//! The address means, as in upstream: for pointers, arrays and functions, the pointer value
//! itself; for structs and unions, the struct's address; for primitives, where the value is
//! stored (inline in the object for `ffi.cast()` results).
//!
//! A cdata is its ctype, its `Owner` and a vectorcall entry. The owner also holds the address
//! and the per-object length, each kind only what it needs (see `Owner`): with the object
//! header and the weak reference slot, a live `ffi.new("int *")` takes 64 bytes, as upstream's.

use std::cell::UnsafeCell;
use std::sync::Mutex;

use model::PrimKind;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{
    PyAttributeError, PyIndexError, PyMemoryError, PyNotImplementedError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::pyclass::CompareOp;
use pyo3::types::{PyByteArray, PyBytes, PyComplex, PyFloat, PyInt, PySlice, PyString, PyTuple};

use crate::convert;
use crate::gilslot::GilSlot;
use crate::ctype::{self, CType, Kind};

/// Blocks up to this size come from Python's allocator, whose pools serve them faster than
/// malloc; bigger ones it would only pass on to malloc, more slowly than calling malloc
/// directly (`new("char[]", 1000 bytes)`: 130 ns instead of 106).
const PYMEM_MAX: usize = 512;

/// The alignment both Python's allocator and malloc guarantee on 64-bit platforms.
const MALLOC_ALIGN: usize = 16;

/// A block from Python's allocator (`PyMem_*`), freed when dropped. One word: the address.
#[repr(transparent)]
pub struct PyMemBlock(*mut u8);

/// A block from C's allocator (`calloc`, `malloc`, `posix_memalign`), freed when dropped. One
/// word: the address.
#[repr(transparent)]
pub struct MallocBlock(*mut u8);

// SAFETY: the memory is plain bytes owned by this value alone; access is serialized by the GIL
// like any cdata access.
unsafe impl Send for PyMemBlock {}
// SAFETY: as above.
unsafe impl Sync for PyMemBlock {}
// SAFETY: as above.
unsafe impl Send for MallocBlock {}
// SAFETY: as above.
unsafe impl Sync for MallocBlock {}

impl PyMemBlock {
    #[inline]
    pub fn ptr(&self) -> *mut u8 {
        self.0
    }
}

impl MallocBlock {
    #[inline]
    pub fn ptr(&self) -> *mut u8 {
        self.0
    }
}

impl Drop for PyMemBlock {
    fn drop(&mut self) {
        // SAFETY: from PyMem_Malloc/PyMem_Calloc (`OwnedMem::allocate`), freed only here; cdata
        // and call temporaries die with the GIL held (CPython deallocates with it).
        unsafe { pyo3::ffi::PyMem_Free(self.0.cast()) }
    }
}

impl Drop for MallocBlock {
    fn drop(&mut self) {
        // SAFETY: from calloc, malloc or posix_memalign (`OwnedMem::allocate`), all freed by
        // free(), and only here.
        unsafe { libc::free(self.0.cast()) }
    }
}

/// Memory that a cdata allocated and frees when it dies (`ffi.new()`), or that a call holds
/// while it runs. Neither allocator needs the size or the alignment to free a block, so an
/// owning cdata keeps only the block (`Owner::own`).
pub enum OwnedMem {
    Py(PyMemBlock),
    Malloc(MallocBlock),
}

impl OwnedMem {
    /// Zeroed memory of `size` bytes (at least 1) aligned to `align`.
    pub fn zeroed(size: usize, align: usize) -> PyResult<OwnedMem> {
        OwnedMem::allocate(size, align, true)
    }

    /// Memory of `size` bytes (at least 1) left uninitialized, for allocators created with
    /// `should_clear_after_alloc=False`.
    pub fn uninit(size: usize, align: usize) -> PyResult<OwnedMem> {
        OwnedMem::allocate(size, align, false)
    }

    fn allocate(size: usize, align: usize, zeroed: bool) -> PyResult<OwnedMem> {
        let bytes = size.max(1);
        let align = align.clamp(1, 4096).next_power_of_two();
        if bytes > isize::MAX as usize - (align - 1) {
            return Err(PyMemoryError::new_err("allocation too large"));
        }
        let failed = || PyMemoryError::new_err(format!("cannot allocate {size} bytes"));
        // (Uninitialized bytes below are only ever read as plain data: C's malloc semantics.)
        if bytes <= PYMEM_MAX && align <= MALLOC_ALIGN {
            // SAFETY: a non-zero size; called with the GIL held, as every `ffi.new()` and every
            // call that needs temporaries is.
            let ptr: *mut u8 = unsafe {
                if zeroed {
                    pyo3::ffi::PyMem_Calloc(1, bytes).cast()
                } else {
                    pyo3::ffi::PyMem_Malloc(bytes).cast()
                }
            };
            return if ptr.is_null() { Err(failed()) } else { Ok(OwnedMem::Py(PyMemBlock(ptr))) };
        }
        // SAFETY: a non-zero size; posix_memalign gets a power of two above 16, so a multiple
        // of the pointer size, and writes `ptr` only on success; the zeroing stays within the
        // block just allocated.
        let ptr: *mut u8 = unsafe {
            if align <= MALLOC_ALIGN {
                if zeroed {
                    libc::calloc(1, bytes).cast()
                } else {
                    libc::malloc(bytes).cast()
                }
            } else {
                let mut ptr = std::ptr::null_mut();
                if libc::posix_memalign(&mut ptr, align, bytes) != 0 {
                    ptr = std::ptr::null_mut();
                } else if zeroed {
                    std::ptr::write_bytes(ptr.cast::<u8>(), 0, bytes);
                }
                ptr.cast()
            }
        };
        if ptr.is_null() {
            return Err(failed());
        }
        Ok(OwnedMem::Malloc(MallocBlock(ptr)))
    }

    pub fn ptr(&self) -> *mut u8 {
        match self {
            OwnedMem::Py(b) => b.ptr(),
            OwnedMem::Malloc(b) => b.ptr(),
        }
    }
}

/// Storage inside the object: `N` words, aligned to 8. An `UnsafeCell`: C code and the
/// conversions write it through the address `CData::addr` gives.
pub struct Inline<const N: usize>(UnsafeCell<[u64; N]>);

impl<const N: usize> Inline<N> {
    /// How many bytes fit (at an alignment of at most 8).
    pub const SIZE: usize = 8 * N;

    pub const fn zeroed() -> Inline<N> {
        Inline(UnsafeCell::new([0; N]))
    }
}

// SAFETY: plain bytes; access is serialized by the GIL like any cdata access.
unsafe impl<const N: usize> Sync for Inline<N> {}

/// What keeps a cdata's memory alive (and what its repr says about it), together with where
/// that memory is and, where it varies per object, its length (see `CData::length`).
///
/// Every variant is at most two words. `repr(usize)` lays each out as the tag (one word)
/// followed by its fields in order, which `CData::addr` and `CData::length` rely on to read
/// most kinds in one place instead of going through a jump table: the inline storage, or the
/// address, is the first word of every variant but `Gc` (for `Handle`, the box, whose address
/// is the handle's; for `Callback`, the code address, first in `Closure`); the length is the
/// second word of the `OWN_INLINE_SIZED..=OWN_MALLOC` ones.
#[repr(usize)]
pub enum Owner {
    /// A primitive value stored in the object itself (`ffi.cast()`): up to 16 bytes, enough
    /// for `long double` and `double _Complex`.
    Inline(Inline<2>) = tag::INLINE,
    /// A small `ffi.new()` allocation of a fixed-size type, stored in the object itself.
    OwnInline(Inline<2>) = tag::OWN_INLINE,
    /// A small `ffi.new()` allocation of an open array or a var-size struct, which has a
    /// length per object (`ffi.new("char[]", b"hello")`), stored in the object itself.
    OwnInlineSized { cell: Inline<1>, length: isize } = tag::OWN_INLINE_SIZED,
    /// Borrowed: the memory belongs to someone else (C, or another cdata).
    Borrowed { ptr: usize, length: isize } = tag::BORROWED,
    /// Memory from `ffi.new()`, from Python's allocator: "owning N bytes".
    Own { mem: PyMemBlock, length: isize } = tag::OWN,
    /// Memory from `ffi.new()`, from malloc (big or over-aligned blocks).
    OwnMalloc { mem: MallocBlock, length: isize } = tag::OWN_MALLOC,
    /// `p[0]` of a struct pointer from `ffi.new()`: shares and keeps alive `p`'s memory, and
    /// takes `p`'s length.
    CoOwn { ptr: usize, owner: Py<CData> } = 6,
    /// `ffi.from_buffer()`: holds the buffer export until released (boxed: rare, and big).
    Buffer { ptr: usize, buffer: Box<BufferOwner> } = 7,
    /// `ffi.new_handle()`: the cell's address is the handle's; keeps `obj` alive.
    Handle(Box<crate::handle::HandleCell>) = 8,
    /// Memory from a custom allocator (`ffi.new_allocator()`), freed by its `free`.
    Allocated { ptr: usize, alloc: Box<AllocatedOwner> } = 9,
    /// A callback: keeps the libffi closure and the Python callable alive (its first word is
    /// the code address).
    Callback(crate::callback::Closure) = 10,
    /// `ffi.gc()`: calls `destructor(original)` once, at release or death. The address and
    /// length are the original's.
    Gc { original: Py<CData>, destructor: GilSlot } = tag::GC,
}

/// The tags of `Owner` that `CData::addr`, `CData::length` and `CData::release_in_place` test:
/// the inline kinds first (`..=OWN_INLINE_SIZED`), then borrowed (all of `..=BORROWED` hold
/// nothing to release), then the kinds with their memory's length (`OWN_INLINE_SIZED..=OWN_MALLOC`
/// keep it in their second word).
mod tag {
    pub const INLINE: usize = 0;
    pub const OWN_INLINE: usize = 1;
    pub const OWN_INLINE_SIZED: usize = 2;
    pub const BORROWED: usize = 3;
    pub const OWN: usize = 4;
    pub const OWN_MALLOC: usize = 5;
    pub const GC: usize = 11;
}

// Two words and the tag: with the ctype, the vectorcall entry, the object header (16) and the
// weak reference slot (8), a cdata object is 64 bytes.
const _: () = assert!(std::mem::size_of::<Owner>() == 24);
const _: () = assert!(std::mem::size_of::<CData>() == 40);

// The layout `CData::addr` and `CData::length` read, checked where it can be at compile time.
const _: () = {
    /// The three words of `owner`.
    const fn words(owner: &Owner) -> [usize; 3] {
        // SAFETY: `Owner` is three words (asserted above), all initialized in the variants
        // checked below (a tag and two plain words, or a word of inline storage and a length).
        unsafe { *(owner as *const Owner).cast::<[usize; 3]>() }
    }
    let borrowed = Owner::Borrowed { ptr: 0x1230, length: 7 };
    let own = Owner::Own { mem: PyMemBlock(0x4560 as *mut u8), length: 8 };
    let own_malloc = Owner::OwnMalloc { mem: MallocBlock(0x7890 as *mut u8), length: 9 };
    let sized = Owner::OwnInlineSized { cell: Inline::zeroed(), length: 10 };
    let (b, o, m, i) = (words(&borrowed), words(&own), words(&own_malloc), words(&sized));
    assert!(b[0] == tag::BORROWED && b[1] == 0x1230 && b[2] == 7);
    assert!(o[0] == tag::OWN && o[1] == 0x4560 && o[2] == 8);
    assert!(m[0] == tag::OWN_MALLOC && m[1] == 0x7890 && m[2] == 9);
    assert!(i[0] == tag::OWN_INLINE_SIZED && i[1] == 0 && i[2] == 10);
    // (Nothing to free: these blocks were never allocated.)
    std::mem::forget((borrowed, own, own_malloc, sized));
};

impl Owner {
    /// The owner of memory allocated for a cdata with this `length` (see `CData::length`).
    pub fn own(mem: OwnedMem, length: isize) -> Owner {
        match mem {
            OwnedMem::Py(mem) => Owner::Own { mem, length },
            OwnedMem::Malloc(mem) => Owner::OwnMalloc { mem, length },
        }
    }

    #[inline]
    fn tag(&self) -> usize {
        // SAFETY: `repr(usize)`: the tag is the first word of every variant.
        unsafe { *(self as *const Owner).cast::<usize>() }
    }

    /// The `n`th word of the variant's fields (0 is the first).
    #[inline]
    fn word(&self, n: usize) -> *const usize {
        (self as *const Owner).cast::<usize>().wrapping_add(1 + n)
    }
}

/// What `ffi.from_buffer()` keeps: the buffer export until released, the type of the object
/// it came from (named only by the repr), and the `T[]` length.
pub struct BufferOwner {
    pub view: Mutex<Option<PyBuffer<u8>>>,
    pub source_type: Py<pyo3::types::PyType>,
    pub length: isize,
}

/// What memory from a custom allocator keeps: `alloc()`'s result, its `free`, and the length
/// of the cdata made in that memory (not the length of `raw`, a `void *` or so).
pub struct AllocatedOwner {
    pub raw: Py<CData>,
    pub free: GilSlot,
    pub length: isize,
}

/// The base of the cdata types; `cdtypes` has the subtypes, one per kind of ownership.
#[pyclass(module = "_cffi_backend", name = "_CDataBase", frozen, weakref, subclass)]
pub struct CData {
    pub ctype: Py<CType>,
    pub owner: Owner,
    /// For function cdata: CPython's vectorcall entry (`call::VECTORCALL`); read by CPython at
    /// the type's `tp_vectorcall_offset`.
    pub vectorcall: Option<pyo3::ffi::vectorcallfunc>,
}

impl CData {
    /// The address this cdata stands for (see the module docs).
    #[inline]
    pub fn addr(&self) -> *mut u8 {
        // Tests on the tag, where a `match` would compile to a jump table (see `Owner`), and a
        // loop for `Gc` rather than a call, which would cost the callers registers.
        let mut cd = self;
        loop {
            let owner = &cd.owner;
            if owner.tag() <= tag::OWN_INLINE_SIZED {
                // The inline storage: an `UnsafeCell`, so writable through this pointer.
                return owner.word(0).cast_mut().cast();
            }
            match owner {
                Owner::Gc { original, .. } => cd = original.get(),
                // SAFETY: every other variant has the address in its first word (see
                // `Owner`), as a `usize` or a pointer.
                _ => return unsafe { *owner.word(0) as *mut u8 },
            }
        }
    }

    /// For `T[]` arrays: the item count; for a var-size struct (or pointer to one) from
    /// `ffi.new()`: its byte size; -1 for everything else.
    #[inline]
    pub fn length(&self) -> isize {
        // As in `addr`: the common kinds first, by their tags.
        if (tag::OWN_INLINE_SIZED..=tag::OWN_MALLOC).contains(&self.owner.tag()) {
            // SAFETY: these variants have the length in their second word (see `Owner`).
            return unsafe { *self.owner.word(1).cast::<isize>() };
        }
        let mut cd = self;
        loop {
            match &cd.owner {
                Owner::OwnInlineSized { length, .. }
                | Owner::Borrowed { length, .. }
                | Owner::Own { length, .. }
                | Owner::OwnMalloc { length, .. } => return *length,
                Owner::CoOwn { owner: other, .. } | Owner::Gc { original: other, .. } => cd = other.get(),
                Owner::Buffer { buffer, .. } => return buffer.length,
                Owner::Allocated { alloc, .. } => return alloc.length,
                Owner::Inline(_) | Owner::OwnInline(_) | Owner::Handle(_) | Owner::Callback(_) => return -1,
            }
        }
    }

    pub fn with(ct: &Bound<'_, CType>, owner: Owner) -> CData {
        let vectorcall = (ct.get().kind == Kind::Function).then_some(crate::call::VECTORCALL);
        CData { ctype: ct.clone().unbind(), owner, vectorcall }
    }

    pub fn borrowed(py: Python<'_>, ct: &Bound<'_, CType>, ptr: *mut u8) -> PyResult<Py<CData>> {
        CData::sized(py, ct, ptr, -1)
    }

    /// A zero-valued primitive held inline.
    pub fn new_value(py: Python<'_>, ct: &Bound<'_, CType>) -> PyResult<Py<CData>> {
        CData::with(ct, Owner::Inline(Inline::zeroed())).into_object(py)
    }

    /// A `T[]` view of `length` items at `ptr`, borrowed.
    pub fn sized(py: Python<'_>, ct: &Bound<'_, CType>, ptr: *mut u8, length: isize) -> PyResult<Py<CData>> {
        CData::with(ct, Owner::Borrowed { ptr: ptr as usize, length }).into_object(py)
    }

    /// Number of items of an array cdata.
    pub fn array_length(&self, _py: Python<'_>) -> isize {
        let t = self.ctype.get();
        if t.length >= 0 {
            t.length
        } else {
            self.length().max(0)
        }
    }

    /// Whether this cdata holds memory allocated for it (`ffi.new()`, allocators).
    #[inline]
    fn owns_memory(&self) -> bool {
        matches!(
            self.owner,
            Owner::Own { .. }
                | Owner::OwnMalloc { .. }
                | Owner::OwnInline(_)
                | Owner::OwnInlineSized { .. }
                | Owner::Allocated { .. }
        )
    }

    /// Whether this cdata owns its memory or shares it with the one that does.
    #[inline]
    pub fn is_owning(&self) -> bool {
        self.owns_memory() || matches!(self.owner, Owner::CoOwn { .. })
    }

    /// Bytes this cdata owns, as its repr reports them.
    pub fn owned_size(&self, py: Python<'_>) -> isize {
        let t = self.ctype.get();
        if let Some(size) = self.var_byte_size(py) {
            return size;
        }
        match t.kind {
            Kind::Pointer => t.item_ref(py).size(),
            Kind::Array => self.array_length(py) * t.item_ref(py).size(),
            _ => t.size(),
        }
    }

    /// The allocated size of a var-size struct (or pointer to one) from `ffi.new()`.
    pub fn var_byte_size(&self, py: Python<'_>) -> Option<isize> {
        if let Owner::CoOwn { owner, .. } = &self.owner {
            return owner.get().var_byte_size(py);
        }
        let length = self.length();
        if !self.owns_memory() || length < 0 {
            return None;
        }
        let t = self.ctype.get();
        let rec = if t.kind == Kind::Pointer { t.item_ref(py) } else { t };
        rec.record.get().filter(|r| r.varsize).map(|_| length)
    }

    /// Whether `ffi.release()` / `with` applies: only to what ffi.new(), ffi.gc(),
    /// ffi.from_buffer() and allocators return.
    pub fn check_releasable(&self) -> PyResult<()> {
        if self.owns_memory() || matches!(self.owner, Owner::Gc { .. } | Owner::Buffer { .. }) {
            return Ok(());
        }
        Err(PyValueError::new_err(
            "only 'cdata' object from ffi.new(), ffi.gc(), ffi.from_buffer() or ffi.new_allocator()() can be used with the 'with' keyword or ffi.release()",
        ))
    }

    /// End ownership now (`ffi.release()`, `with`): run a gc destructor, let go of a buffer.
    /// An exception in a destructor is reported as unraisable, as when the cdata dies.
    pub fn release(&self, py: Python<'_>) -> PyResult<()> {
        self.check_releasable()?;
        match &self.owner {
            Owner::Gc { original, destructor } => {
                let d = destructor.take(py);
                if let Some(d) = d {
                    if let Err(e) = d.call1(py, (original.clone_ref(py),)) {
                        e.write_unraisable(py, Some(d.bind(py)));
                    }
                }
                Ok(())
            }
            Owner::Buffer { buffer, .. } => {
                let v = buffer.view.lock().unwrap().take();
                drop(v);
                Ok(())
            }
            Owner::Allocated { alloc, .. } => {
                let f = alloc.free.take(py);
                if let Some(f) = f {
                    if let Err(e) = f.call1(py, (alloc.raw.clone_ref(py),)) {
                        e.write_unraisable(py, Some(f.bind(py)));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Read a field of the struct this cdata is (or points to).
    pub(crate) fn read_field(&self, py: Python<'_>, f: &crate::record::Field) -> PyResult<Py<PyAny>> {
        self.check_not_null()?;
        if f.bitshift == model::layout::BS_EMPTY_ARRAY {
            let data = self.addr().wrapping_add(f.offset);
            let ft = f.ctype.bind(py);
            if let Some(total) = self.var_byte_size(py) {
                let item_size = ft.get().item_ref(py).size().max(1);
                let n = (total - f.offset as isize).max(0) / item_size;
                return Ok(CData::sized(py, ft, data, n)?.into_any());
            }
            let p = ctype::new_pointer(py, ft.get().item.as_ref().unwrap().bind(py))?;
            return Ok(CData::borrowed(py, p.bind(py), data)?.into_any());
        }
        // SAFETY: the field lies within the struct this cdata points to.
        unsafe { convert::read_field(py, f, self.addr()) }
    }

    /// Field access through a NULL pointer raises instead of crashing (upstream crashes).
    fn check_not_null(&self) -> PyResult<()> {
        if self.addr().is_null() {
            return Err(PyRuntimeError::new_err(format!(
                "cannot access fields through a NULL pointer: cdata '{}' NULL",
                self.ctype.get().name
            )));
        }
        Ok(())
    }

    fn type_error_attr(&self, name: &str, what: &str) -> PyErr {
        PyAttributeError::new_err(format!("cdata '{}' {} '{}'", self.ctype.get().name, what, name))
    }

    /// The struct/union a field access goes to: the struct itself or a pointer's target.
    fn record_type<'a>(&'a self, py: Python<'a>) -> Option<&'a CType> {
        let t = self.ctype.get();
        let t = if t.kind == Kind::Pointer { t.item_ref(py) } else { t };
        t.is_record().then_some(t)
    }

    /// The item pointer for `self[index]`, checking bounds like upstream.
    fn indexed_ptr(&self, py: Python<'_>, index: &Bound<'_, PyAny>) -> PyResult<*mut u8> {
        let i: isize = index_of(index)?;
        let t = self.ctype.get();
        match t.kind {
            Kind::Pointer => {
                if self.is_owning() && i != 0 {
                    return Err(PyIndexError::new_err(format!("cdata '{}' can only be indexed by 0", t.name)));
                }
                if self.addr().is_null() {
                    return Err(PyRuntimeError::new_err(format!(
                        "cannot dereference null pointer from cdata '{}'",
                        t.name
                    )));
                }
            }
            Kind::Array => {
                if i < 0 {
                    return Err(PyIndexError::new_err("negative index"));
                }
                let n = self.array_length(py);
                if i >= n {
                    return Err(PyIndexError::new_err(format!(
                        "index too large for cdata '{}' (expected {} < {})",
                        t.name, i, n
                    )));
                }
            }
            _ => return Err(PyTypeError::new_err(format!("cdata of type '{}' cannot be indexed", t.name))),
        }
        let item = t.item_ref(py);
        let size = item.size();
        if size < 0 && i != 0 {
            return Err(PyTypeError::new_err(format!("cdata '{}' points to items of unknown size", t.name)));
        }
        Ok(self.addr().wrapping_offset(i * size.max(0)))
    }

    /// `(pointer type, start, length)` for `self[start:stop]`.
    /// The item type, start and length of `self[start:stop]`.
    fn slice_bounds<'py>(&self, py: Python<'py>, s: &Bound<'py, PySlice>) -> PyResult<(Bound<'py, CType>, isize, isize)> {
        // The slice's fields as they are (no attribute lookups).
        // SAFETY: `s` is a slice object; its three fields are live objects (None if absent).
        let (start, stop, step) = unsafe {
            let so = s.as_ptr().cast::<pyo3::ffi::PySliceObject>();
            (
                pyo3::Borrowed::from_ptr(py, (*so).start),
                pyo3::Borrowed::from_ptr(py, (*so).stop),
                pyo3::Borrowed::from_ptr(py, (*so).step),
            )
        };
        if start.is_none() {
            return Err(PyIndexError::new_err("slice start must be specified"));
        }
        if stop.is_none() {
            return Err(PyIndexError::new_err("slice stop must be specified"));
        }
        if !step.is_none() {
            return Err(PyIndexError::new_err("slice with step not supported"));
        }
        let (start, stop): (isize, isize) = (index_of(&start)?, index_of(&stop)?);
        if start > stop {
            return Err(PyIndexError::new_err("slice start > stop"));
        }
        let t = self.ctype.get();
        match t.kind {
            Kind::Array => {
                if start < 0 {
                    return Err(PyIndexError::new_err("negative index"));
                }
                let n = self.array_length(py);
                if stop > n {
                    return Err(PyIndexError::new_err(format!("index too large (expected {stop} <= {n})")));
                }
            }
            Kind::Pointer => {}
            _ => return Err(PyTypeError::new_err(format!("cdata of type '{}' cannot be indexed", t.name))),
        }
        Ok((t.item.as_ref().unwrap().bind(py).clone(), start, stop - start))
    }

    fn get_slice(&self, py: Python<'_>, s: &Bound<'_, PySlice>) -> PyResult<Py<PyAny>> {
        let (item, start, len) = self.slice_bounds(py, s)?;
        let array_type = ctype::open_array_of(py, self.ctype.bind(py))?;
        let item_size = item.get().size().max(0);
        let p = self.addr().wrapping_offset(start * item_size);
        Ok(CData::sized(py, array_type.bind(py), p, len)?.into_any())
    }

    fn set_slice(&self, py: Python<'_>, s: &Bound<'_, PySlice>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let (item, start, len) = self.slice_bounds(py, s)?;
        let it = item.get();
        let item_size = it.size().max(0);
        let dst = self.addr().wrapping_offset(start * item_size);
        if let Ok(v) = value.cast::<CData>() {
            let v = v.get();
            let vt = v.ctype.get();
            if vt.kind == Kind::Array && std::ptr::eq(vt.item_ref(py), it) && v.array_length(py) == len {
                // SAFETY: both ranges hold `len` items of this type; memmove allows overlap.
                unsafe { std::ptr::copy(v.addr(), dst, (len * item_size) as usize) };
                return Ok(());
            }
        }
        if it.is_char() {
            let src: Option<Vec<u8>> = if let Ok(b) = value.cast::<PyBytes>() {
                Some(b.as_bytes().to_vec())
            } else if let Ok(b) = value.cast::<PyByteArray>() {
                Some(b.to_vec())
            } else {
                None
            };
            if let Some(src) = src {
                if src.len() as isize != len {
                    return Err(PyValueError::new_err(format!(
                        "need a string of length {len}, got {}",
                        src.len()
                    )));
                }
                // SAFETY: the slice was bounds-checked for `len` bytes.
                unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
                return Ok(());
            }
        }
        let mut it_ = value.try_iter()?;
        for i in 0..len {
            let Some(x) = it_.next() else {
                return Err(PyValueError::new_err(format!("need {len} values to unpack, got {i}")));
            };
            // SAFETY: i < len, within the bounds-checked slice.
            unsafe { convert::write(py, &item, dst.wrapping_offset(i * item_size), &x?)? };
        }
        if it_.next().is_some() {
            return Err(PyValueError::new_err(format!("got more than {len} values to unpack")));
        }
        Ok(())
    }

    /// `self + n` (sign 1) or `self - n` (sign -1) for pointers and arrays.
    pub(crate) fn add_offset(&self, py: Python<'_>, n: &Bound<'_, PyAny>, sign: isize) -> PyResult<Py<PyAny>> {
        let t = self.ctype.bind(py);
        let ptr_type = match t.get().kind {
            Kind::Pointer => t.clone(),
            Kind::Array => ctype::decay_pointer(py, t)?.into_bound(py),
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "cannot add a cdata '{}' and a number",
                    t.get().name
                )))
            }
        };
        let i: isize = n.extract::<isize>().map_err(|e| {
            if e.is_instance_of::<PyTypeError>(py) {
                e
            } else {
                pyo3::exceptions::PyOverflowError::new_err("cdata pointer arithmetic overflow")
            }
        })?;
        let item = ptr_type.get().item_ref(py);
        let mut size = item.size();
        if size < 0 {
            if item.kind == Kind::Void {
                size = 1;
            } else {
                return Err(PyTypeError::new_err(format!(
                    "ctype '{}' points to items of unknown size",
                    t.get().name
                )));
            }
        }
        let p = self.addr().wrapping_offset(i.wrapping_mul(sign).wrapping_mul(size));
        Ok(CData::borrowed(py, &ptr_type, p)?.into_any())
    }

    /// The Python value of a primitive cdata, for comparisons and hashing; None otherwise.
    fn primitive_value(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let t = self.ctype.get();
        if !matches!(t.kind, Kind::Primitive | Kind::Enum) {
            return Ok(None);
        }
        // SAFETY: a primitive cdata's address holds a value of its type.
        Ok(Some(unsafe { convert::read_primitive(py, t, self.addr())? }))
    }
}

/// A Python integer index, as `PyNumber_AsSsize_t` with IndexError on overflow.
fn index_of(obj: &Bound<'_, PyAny>) -> PyResult<isize> {
    if let Ok(i) = obj.cast::<PyInt>() {
        return i.extract::<isize>().map_err(|_| PyIndexError::new_err("cannot fit 'int' into an index-sized integer"));
    }
    let i = obj.call_method0("__index__").map_err(|_| {
        PyTypeError::new_err(format!(
            "'{}' object cannot be interpreted as an integer",
            convert::type_name(obj)
        ))
    })?;
    i.extract::<isize>().map_err(|_| {
        PyIndexError::new_err(format!(
            "cannot fit '{}' into an index-sized integer",
            convert::type_name(obj)
        ))
    })
}

/// `float(cdata)` of a primitive cdata.
pub fn cdata_to_float(cd: &CData) -> PyResult<f64> {
    let t = cd.ctype.get();
    // SAFETY (reads below): a primitive cdata's address holds a value of its type.
    unsafe {
        match t.prim_kind() {
            Some(PrimKind::Float) => Ok(model::raw::read_float(cd.addr(), t.size() as usize)),
            Some(PrimKind::LongDouble) => Ok(model::raw::read_long_double(cd.addr())),
            Some(PrimKind::Signed | PrimKind::Unsigned | PrimKind::Bool) => {
                Ok(model::raw::read_int(cd.addr(), t.size() as usize, t.is_signed_prim()) as f64)
            }
            Some(PrimKind::Char | PrimKind::WideChar) => {
                Ok(model::raw::read_int(cd.addr(), t.size() as usize, false) as f64)
            }
            _ => Err(PyTypeError::new_err(format!("float() not supported on cdata '{}'", t.name))),
        }
    }
}

impl CType {
    fn is_signed_prim(&self) -> bool {
        self.prim.is_some_and(|p| p.is_signed())
    }
}

fn hex_addr(p: *mut u8) -> String {
    if p.is_null() {
        "NULL".to_string()
    } else {
        format!("{p:p}")
    }
}

#[pymethods]
impl CData {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let t = self.ctype.get();
        match &self.owner {
            _ if self.is_owning() => {
                return Ok(format!("<cdata '{}' owning {} bytes>", t.name, self.owned_size(py)))
            }
            Owner::Buffer { buffer: b, .. } => {
                let type_name = crate::buffer::full_type_name(b.source_type.bind(py));
                return Ok(if b.view.lock().unwrap().is_none() {
                    format!("<cdata '{}' buffer RELEASED>", t.name)
                } else if t.kind == Kind::Array {
                    format!("<cdata '{}' buffer len {} from '{}' object>", t.name, self.array_length(py), type_name)
                } else {
                    format!("<cdata '{}' buffer from '{}' object>", t.name, type_name)
                })
            }
            Owner::Handle(h) => return Ok(format!("<cdata '{}' handle to {}>", t.name, h.object(py).bind(py).repr()?)),
            Owner::Callback(c) => {
                return Ok(format!("<cdata '{}' calling {}>", t.name, c.callable(py).bind(py).repr()?))
            }
            _ => {}
        }
        let text = match t.kind {
            Kind::Enum => crate::api::enum_repr_value(py, self)?,
            Kind::Primitive if t.prim_kind() == Some(PrimKind::LongDouble) => {
                // SAFETY: a long double cdata holds 16 readable bytes.
                unsafe { model::raw::format_long_double_e(self.addr()) }
            }
            Kind::Primitive => self.primitive_value(py)?.unwrap().bind(py).repr()?.to_string(),
            Kind::Array if t.length < 0 => format!("sliced length {}", self.array_length(py)),
            _ => hex_addr(self.addr()),
        };
        let amp = if t.is_record() { " &" } else { "" };
        Ok(format!("<cdata '{}{}' {}>", t.name, amp, text))
    }

    fn __bool__(&self) -> PyResult<bool> {
        let t = self.ctype.get();
        // SAFETY (reads below): a primitive cdata's address holds a value of its type.
        unsafe {
            Ok(match t.prim_kind() {
                _ if t.kind != Kind::Primitive && t.kind != Kind::Enum => !self.addr().is_null(),
                Some(PrimKind::Float) => model::raw::read_float(self.addr(), t.size() as usize) != 0.0,
                Some(PrimKind::LongDouble) => !model::raw::long_double_is_zero(self.addr()),
                Some(PrimKind::Complex) => {
                    let half = t.size() as usize / 2;
                    model::raw::read_float(self.addr(), half) != 0.0
                        || model::raw::read_float(self.addr().add(half), half) != 0.0
                }
                _ => model::raw::read_int(self.addr(), t.size() as usize, false) != 0,
            })
        }
    }

    fn __int__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let t = self.ctype.get();
        // SAFETY (reads below): a primitive cdata's address holds a value of its type.
        unsafe {
            match t.prim_kind() {
                Some(PrimKind::Signed | PrimKind::Unsigned | PrimKind::Bool) => {
                    let v = model::raw::read_int(self.addr(), t.size() as usize, t.is_signed_prim());
                    convert::int_to_py(py, v)
                }
                Some(PrimKind::Char | PrimKind::WideChar) => {
                    // wchar_t is signed on Linux; char, char16_t and char32_t read unsigned.
                    let signed = t.name == "wchar_t";
                    let v = model::raw::read_int(self.addr(), t.size() as usize, signed);
                    convert::int_to_py(py, v)
                }
                Some(PrimKind::Float | PrimKind::LongDouble) => {
                    let f = PyFloat::new(py, cdata_to_float(self)?);
                    Ok(f.call_method0("__int__")?.unbind())
                }
                _ => Err(PyTypeError::new_err(format!("int() not supported on cdata '{}'", t.name))),
            }
        }
    }

    fn __float__(&self) -> PyResult<f64> {
        let t = self.ctype.get();
        match t.prim_kind() {
            Some(PrimKind::Float | PrimKind::LongDouble) => cdata_to_float(self),
            _ => Err(PyTypeError::new_err(format!("float() not supported on cdata '{}'", t.name))),
        }
    }

    fn __complex__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyComplex>> {
        let t = self.ctype.get();
        match t.prim_kind() {
            Some(PrimKind::Complex) => {
                let half = t.size() as usize / 2;
                // SAFETY: a complex cdata holds two floats of `half` bytes.
                let (re, im) = unsafe {
                    (model::raw::read_float(self.addr(), half), model::raw::read_float(self.addr().add(half), half))
                };
                Ok(PyComplex::from_doubles(py, re, im))
            }
            _ => Err(PyTypeError::new_err(format!("complex() not supported on cdata '{}'", t.name))),
        }
    }

    fn __richcmp__(&self, py: Python<'_>, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let t = self.ctype.get();
        let self_is_ptr = !matches!(t.kind, Kind::Primitive | Kind::Enum);
        let other_cd = other.cast::<CData>().ok();
        let other_is_ptr = other_cd
            .as_ref()
            .is_some_and(|o| !matches!(o.get().ctype.get().kind, Kind::Primitive | Kind::Enum));
        if self_is_ptr && other_is_ptr {
            let (a, b) = (self.addr() as usize, other_cd.unwrap().get().addr() as usize);
            return Ok(op.matches(a.cmp(&b)).into_pyobject(py)?.to_owned().into_any().unbind());
        }
        if self_is_ptr || other_is_ptr {
            return Ok(py.NotImplemented());
        }
        let mine = self.comparable(py)?;
        let theirs = match &other_cd {
            Some(o) => o.get().comparable(py)?,
            None => other.clone().unbind(),
        };
        Ok(mine.bind(py).rich_compare(theirs.bind(py), op)?.unbind())
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        if let Some(v) = self.primitive_value(py)? {
            if !v.bind(py).is_instance_of::<CData>() {
                return v.bind(py).hash();
            }
        }
        // Like CPython's pointer hash: rotate out the alignment bits.
        let a = self.addr() as usize;
        Ok(a.rotate_right(4) as isize)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let t = self.ctype.get();
        if t.kind == Kind::Array {
            return Ok(self.array_length(py) as usize);
        }
        Err(PyTypeError::new_err(format!("cdata of type '{}' has no len()", t.name)))
    }

    fn __getitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        if let Ok(s) = key.cast::<PySlice>() {
            return this.get_slice(py, s);
        }
        let p = this.indexed_ptr(py, key)?;
        let t = this.ctype.get();
        let item = t.item.as_ref().unwrap().bind(py);
        // The struct behind a pointer from ffi.new() co-owns the memory.
        if t.kind == Kind::Pointer && item.get().is_record() && this.owns_memory() {
            let s = CData::with(item, Owner::CoOwn { ptr: p as usize, owner: slf.clone().unbind() });
            return Ok(s.into_object(py)?.into_any());
        }
        // SAFETY: `indexed_ptr` checked bounds for arrays; pointers are trusted as in C.
        unsafe { convert::read(py, item, p) }
    }

    fn __setitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Ok(s) = key.cast::<PySlice>() {
            return self.set_slice(py, s, value);
        }
        let p = self.indexed_ptr(py, key)?;
        let item = self.ctype.get().item.as_ref().unwrap().bind(py);
        // SAFETY: as in __getitem__.
        unsafe { convert::write(py, item, p, value) }
    }

    fn __delitem__(&self, _key: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(PyTypeError::new_err("'del x[n]' not supported for cdata objects"))
    }

    /// Fields first (the hot path: no failed generic lookup before reaching them), then the
    /// ordinary attributes of the type; errors worded like upstream's.
    fn __getattribute__(slf: &Bound<'_, Self>, name: &Bound<'_, PyString>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let this = slf.get();
        let rec = this.record_type(py).map(|rt| rt.record.get());
        if let Some(Some(rec)) = rec {
            if let Some(f) = rec.field(name.to_str()?) {
                return this.read_field(py, f);
            }
        }
        // SAFETY: both pointers are live objects; the result is a new reference or NULL with an
        // exception set, which from_owned_ptr_or_err turns into a PyResult.
        let generic = unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyObject_GenericGetAttr(slf.as_ptr(), name.as_ptr())) };
        Ok(generic?.unbind())
    }

    /// Only reached when `__getattribute__` found nothing: upstream's error messages.
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        Err(match self.record_type(py).map(|rt| rt.record.get()) {
            None => self.type_error_attr(name, "has no attribute"),
            Some(None) => self.record_type(py).and_then(|rt| rt.lazy_error()).unwrap_or_else(|| {
                PyAttributeError::new_err(format!(
                    "cdata '{}' points to an opaque type: cannot read fields",
                    self.ctype.get().name
                ))
            }),
            Some(Some(_)) => self.type_error_attr(name, "has no field"),
        })
    }

    fn __setattr__(&self, py: Python<'_>, name: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let Some(rt) = self.record_type(py) else {
            return Err(self.type_error_attr(name, "has no attribute"));
        };
        let Some(rec) = rt.record.get() else {
            if let Some(e) = rt.lazy_error() {
                return Err(e);
            }
            return Err(PyAttributeError::new_err(format!(
                "cdata '{}' points to an opaque type: cannot write fields",
                self.ctype.get().name
            )));
        };
        let Some(f) = rec.field(name) else {
            return Err(self.type_error_attr(name, "has no field"));
        };
        self.check_not_null()?;
        // SAFETY: the field lies within the struct this cdata points to.
        unsafe { convert::write_field(py, f, self.addr(), value) }
    }

    fn __delattr__(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        match self.record_type(py).and_then(|t| t.record.get()).and_then(|r| r.field(name)) {
            Some(_) => Err(PyAttributeError::new_err("cannot delete struct field")),
            None => Err(self.type_error_attr(name, "has no attribute")),
        }
    }

    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if other.is_instance_of::<CData>() {
            return Ok(py.NotImplemented());
        }
        self.add_offset(py, other, 1)
    }

    fn __radd__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.__add__(py, other)
    }

    pub(crate) fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if let Ok(o) = other.cast::<CData>() {
            let o = o.get();
            let mine = self.ctype.get();
            let mut theirs_t = o.ctype.bind(py).clone();
            if theirs_t.get().kind == Kind::Array {
                theirs_t = ctype::decay_pointer(py, &theirs_t)?.into_bound(py);
            }
            let tt = theirs_t.get();
            let item_ok = tt.kind == Kind::Pointer && (tt.item_ref(py).size() > 0 || tt.item_ref(py).kind == Kind::Void);
            if !std::ptr::eq(tt, mine) || !item_ok {
                return Err(PyTypeError::new_err(format!(
                    "cannot subtract cdata '{}' and cdata '{}'",
                    mine.name, tt.name
                )));
            }
            let size = tt.item_ref(py).size().max(1);
            let diff = (self.addr() as isize).wrapping_sub(o.addr() as isize);
            if diff % size != 0 {
                return Err(PyValueError::new_err(
                    "pointer subtraction: the distance between the two pointers is not a multiple of the item size",
                ));
            }
            return Ok((diff / size).into_pyobject(py)?.into_any().unbind());
        }
        self.add_offset(py, other, -1)
    }

    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<Py<CDataIter>> {
        let py = slf.py();
        let this = slf.get();
        let t = this.ctype.get();
        if t.kind != Kind::Array {
            return Err(PyTypeError::new_err(format!("cdata '{}' does not support iteration", t.name)));
        }
        crate::hotslots::ready_iter(py);
        Py::new(py, CDataIter::new(py, slf))
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        crate::call::call_cdata(slf, args, kwargs)
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        slf.get().check_releasable()?;
        Ok(slf)
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: &Bound<'_, PyAny>,
        _v: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.release(py)?;
        Ok(false)
    }

    fn __dir__(&self, py: Python<'_>) -> Vec<String> {
        match self.record_type(py).and_then(|t| t.record.get()) {
            Some(r) => r.names_sorted().into_iter().map(String::from).collect(),
            None => Vec::new(),
        }
    }

    #[getter(__name__)]
    fn name_(&self) -> &'static str {
        "<cdata>"
    }

    /// Lets the garbage collector see the Python objects a cdata keeps alive (handles can be in
    /// reference cycles: a list holding the handle to itself).
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match &self.owner {
            Owner::Handle(h) => h.traverse(&visit),
            Owner::Callback(c) => c.traverse(&visit),
            Owner::CoOwn { owner, .. } => visit.call(owner),
            Owner::Gc { original, .. } => visit.call(original),
            Owner::Allocated { alloc, .. } => visit.call(&alloc.raw),
            _ => Ok(()),
        }
    }

    fn __clear__(&self) {
        if let Owner::Handle(h) = &self.owner {
            drop(h.clear());
        }
        if let Owner::Callback(c) = &self.owner {
            c.clear();
        }
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(format!("cannot pickle cdata '{}'", self.ctype.get().name)))
    }
}

impl CData {
    /// The Python value a primitive cdata compares as; NotImplementedError for long double.
    fn comparable(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = self.primitive_value(py)?.expect("primitive cdata");
        if v.bind(py).is_instance_of::<CData>() {
            return Err(PyNotImplementedError::new_err(format!(
                "cannot use <cdata '{}'> in a comparison",
                self.ctype.get().name
            )));
        }
        Ok(v)
    }
}

impl CData {
    /// Release what a cdata of a plain kind holds (`cdtypes::dealloc_plain`): its ctype, and its
    /// memory or the cdata that owns it. The references are given back with `Py_DECREF` right
    /// here: CPython deallocates with the GIL held, but outside PyO3's bookkeeping of it, where
    /// dropping a `Py` would only queue the decrement.
    ///
    /// # Safety
    /// `this` must point to a live `CData` of a plain kind (see `cdtypes::Kind`) that nothing
    /// uses afterwards: its storage is freed without the value being dropped again.
    pub(crate) unsafe fn release_in_place(this: *mut CData) {
        // SAFETY: per the contract, the fields are read out once and the value is never used or
        // dropped again (a plain kind's `Drop` does nothing more).
        unsafe {
            let ctype = std::ptr::read(std::ptr::addr_of!((*this).ctype));
            pyo3::ffi::Py_DECREF(ctype.into_ptr());
            let owner = std::ptr::addr_of!((*this).owner);
            // Inline storage and borrowed memory, most cdata, hold nothing to release (a test
            // of the tag rather than the out-of-line drop and its jump table).
            if (*owner).tag() <= tag::BORROWED {
                return;
            }
            match std::ptr::read(owner) {
                Owner::CoOwn { owner, .. } => pyo3::ffi::Py_DECREF(owner.into_ptr()),
                // memory (Own, OwnMalloc); any other kind drops the usual way
                other => drop(other),
            }
        }
    }
}

impl Drop for CData {
    /// A gc'ed cdata calls its destructor, an allocator's cdata its `free`, when it dies (unless
    /// `ffi.release()` did it already).
    fn drop(&mut self) {
        let (slot, arg) = match &self.owner {
            Owner::Gc { original, destructor } => (destructor, original),
            Owner::Allocated { alloc, .. } => (&alloc.free, &alloc.raw),
            _ => return,
        };
        // CPython deallocates with the GIL held: attaching is only bookkeeping.
        Python::attach(|py| {
            if let Some(func) = slot.take(py) {
                if let Err(e) = func.call1(py, (arg.clone_ref(py),)) {
                    e.write_unraisable(py, Some(func.bind(py)));
                }
            }
        });
    }
}

/// Iterator over an array cdata. Reads each item when it is reached (as upstream), from what
/// was fixed at creation: where the items are, how many, their type and size.
#[pyclass(module = "_cffi_backend", name = "__CData_iterator", frozen)]
pub struct CDataIter {
    /// Keeps the array's memory alive.
    _array: Py<CData>,
    item: Py<CType>,
    base: usize,
    item_size: isize,
    len: isize,
    next: std::sync::atomic::AtomicIsize,
    /// How items are read on the hot path (`hotslots`), when they are plain numbers.
    reader: Option<crate::hotslots::FastRead>,
}

impl CDataIter {
    fn new(py: Python<'_>, array: &Bound<'_, CData>) -> CDataIter {
        let a = array.get();
        let item = a.ctype.get().item.as_ref().unwrap().clone_ref(py);
        let item_size = item.get().size().max(0);
        let reader = crate::hotslots::FastRead::for_type(item.get());
        CDataIter {
            reader,
            _array: array.clone().unbind(),
            item,
            base: a.addr() as usize,
            item_size,
            len: a.array_length(py),
            next: std::sync::atomic::AtomicIsize::new(0),
        }
    }
}

impl CDataIter {
    /// `__next__` for fast-read items: the next item, or NULL with no exception at the end (which
    /// CPython takes as StopIteration); None for other items.
    ///
    /// # Safety
    /// The GIL is held.
    pub unsafe fn fast_next(&self) -> Option<*mut pyo3::ffi::PyObject> {
        use std::sync::atomic::Ordering::Relaxed;
        let read = self.reader?;
        let i = self.next.load(Relaxed);
        if i >= self.len {
            return Some(std::ptr::null_mut());
        }
        self.next.store(i + 1, Relaxed);
        let p = (self.base as *const u8).wrapping_offset(i * self.item_size);
        // SAFETY: i < the array length, and the array is kept alive by `_array`.
        Some(unsafe { read.read(p) })
    }
}

#[pymethods]
impl CDataIter {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if i >= self.len {
            self.next.store(self.len, std::sync::atomic::Ordering::Relaxed);
            return Ok(None);
        }
        let p = (self.base as *mut u8).wrapping_offset(i * self.item_size);
        // SAFETY: i < the array length, and the array is kept alive.
        Ok(Some(unsafe { convert::read(py, self.item.bind(py), p)? }))
    }
}
