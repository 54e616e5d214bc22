//! Use cases (in progress).
