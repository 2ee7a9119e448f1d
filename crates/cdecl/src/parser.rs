//! TODO(helper)
pub(crate) fn parse_cdef(_source: &str) -> Result<crate::Cdef, crate::CdefError> {
    todo!()
}
