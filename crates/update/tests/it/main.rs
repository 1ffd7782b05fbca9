//! Integration tests of rampart-update.
