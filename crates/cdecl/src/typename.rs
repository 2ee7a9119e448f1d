//! TODO(helper)
pub(crate) fn parse_type_name(_text: &str) -> Result<crate::Ty, crate::TypeNameError> {
    todo!()
}
