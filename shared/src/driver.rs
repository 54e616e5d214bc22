//! Local driver (in progress).
