//! Lists the provider files (`src/server/tracking/providers/*.rs`) for the registry, so
//! adding a provider is adding its file. The generated code is included by
//! `providers/mod.rs`.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let folder = manifest.join("src/server/tracking/providers");
    println!("cargo:rerun-if-changed={}", folder.display());
    let mut names: Vec<String> = fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let name = entry.file_name().into_string().ok()?;
                    let stem = name.strip_suffix(".rs")?;
                    let valid = stem != "mod"
                        && !stem.is_empty()
                        && stem
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                    valid.then(|| stem.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut code = String::new();
    for name in &names {
        let path = folder.join(format!("{name}.rs"));
        code.push_str(&format!(
            "#[path = {:?}]\npub mod {name};\n",
            path.display().to_string()
        ));
    }
    code.push_str(
        "\n/// Every provider module, in file-name order.\npub const MODULES: &[&Module] = &[\n",
    );
    for name in &names {
        code.push_str(&format!("    &{name}::MODULE,\n"));
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap_or_default()).join("providers.rs");
    if let Err(error) = fs::write(&out, code) {
        panic!("cannot write {}: {error}", out.display());
    }
}
