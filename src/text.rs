//! Text for people: how an I/O error reads in a one-line message. A leaf module, so that the
//! lowest stages (policy files) and the error type above them share one wording.

/// `std::io::Error` without the "(os error N)" suffix.
pub fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
