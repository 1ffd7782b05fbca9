//! The macro that declares the closed vocabularies of the event model.

/// Declares a closed vocabulary whose text form is stored, hashed and shown: the clock's
/// `text_vocabulary!`, failing with this crate's `ParseError::$error`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $error:ident {
            $($body:tt)*
        }
    ) => {
        rampart_clock::text_vocabulary! {
            $(#[$meta])*
            $name, $crate::error::ParseError, $crate::error::ParseError::$error {
                $($body)*
            }
        }
    };
}
