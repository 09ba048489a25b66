//! End-to-end tests of bwlab over real sockets live in `tests/`.
