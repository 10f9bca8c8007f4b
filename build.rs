//! Embeds `prompts/` and `rubrics/` in the binary so `design-coach` runs from any directory.

use std::{env, fs, io, path::Path};

fn collect(dir: &Path, root: &Path, files: &mut Vec<String>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, root, files)?;
        } else if path.extension().is_some_and(|ext| ext == "toml") {
            let relative = path.strip_prefix(root).map_err(io::Error::other)?;
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?).to_path_buf();
    let mut files = Vec::new();
    for dir in ["prompts", "rubrics"] {
        println!("cargo:rerun-if-changed={dir}");
        let dir = root.join(dir);
        if dir.is_dir() {
            collect(&dir, &root, &mut files)?;
        }
    }
    let mut generated = String::from("pub static FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={file}");
        let absolute = root.join(file);
        generated.push_str(&format!("    ({file:?}, include_str!({:?})),\n", absolute.display().to_string()));
    }
    generated.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").map_err(io::Error::other)?).join("embedded_content.rs");
    fs::write(out, generated)
}
