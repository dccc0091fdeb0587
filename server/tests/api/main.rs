//! Black-box tests of the server: one binary, a module per area.

mod assets;
mod health;
mod helpers;
mod jobs;
mod pages;
mod process;
mod shutdown;
