//! Checks a lab file and prints every problem, or a summary of what it holds.
//!
//! `cargo run -p bwlab-model --example check_lab -- docs/examples/lab.yaml`

use bwlab_core::clock::LabClock;
use bwlab_model::Store;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check_lab <lab.yaml>");
        std::process::exit(2);
    };
    match Store::from_yaml_file(&path, LabClock::system()) {
        Ok(store) => println!(
            "{path}: ok ({} enterprises/providers, {} groups, {} users, {} devices, {} admins)",
            store.enterprises().len(),
            store.groups().len(),
            store.user_count(),
            store.device_count(),
            store.admins().len()
        ),
        Err(errors) => {
            eprintln!("{errors}");
            std::process::exit(1);
        }
    }
}
