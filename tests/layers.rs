//! The crate's folders form layers, and every import between two folders
//! points down (DESIGN.md opens with the picture). This test reads
//! `src/**.rs` and fails on a `crate::<folder>` path, in code (not in a
//! comment or a doc link), that names a folder above the file's own.

use std::path::{Path, PathBuf};

/// The folders (and top-level files) of `src/`, lowest first: a file may
/// name its own folder and any folder before it.
const ORDER: &[&str] = &[
    "error",
    "files",
    "rules",
    "schema",
    "tokens",
    "transform",
    "guard",
    "detect",
    "leak",
    "engine",
    "llm",
    "protect",
    "audit",
    "chat",
    "eval",
];

/// The names the crate root re-exports, with the folder each lives in, so
/// that `crate::Engine` counts as an import of `engine/`.
const ROOT_NAMES: &[(&str, &str)] = &[
    ("Chat", "chat"),
    ("ChatAnswer", "chat"),
    ("Context", "chat"),
    ("Policy", "rules"),
    ("Engine", "engine"),
    ("run", "engine"),
    ("PolarsEngine", "engine"),
    ("PostgresEngine", "engine"),
    ("SparkEngine", "engine"),
    ("LanguageModel", "llm"),
    ("MasterKey", "tokens"),
    ("Error", "error"),
    ("ErrorKind", "error"),
];

/// Imports that still point up: (file, folder it names, why).
const ALLOWED_UP: &[(&str, &str, &str)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The folder a path names after `crate::`, if it is one of ours.
fn named_folder(after: &str) -> Option<&'static str> {
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if let Some((_, folder)) = ROOT_NAMES.iter().find(|(n, _)| *n == name) {
        return Some(folder);
    }
    ORDER.iter().copied().find(|f| *f == name)
}

/// Every `(file, line, from, to)` where a file names a folder above its own.
fn upward_imports(src: &Path) -> Vec<(String, usize, String, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // The crate root and the binary sit above every folder.
        if rel == "lib.rs" || rel.starts_with("bin/") {
            continue;
        }
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs");
        let Some(rank) = ORDER.iter().position(|f| *f == top) else {
            panic!("src/{rel}: the folder `{top}` is not in the layer order of tests/layers.rs");
        };
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            // Comments (and doc links) are not imports.
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let Some(to) = named_folder(&code[at + "crate::".len()..]) else {
                    continue;
                };
                let to_rank = ORDER.iter().position(|f| *f == to).unwrap();
                if to_rank > rank {
                    found.push((rel.clone(), n + 1, top.to_string(), to.to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn every_import_between_folders_points_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut unexpected = Vec::new();
    let mut used = vec![false; ALLOWED_UP.len()];
    for (file, line, from, to) in upward_imports(&src) {
        match ALLOWED_UP
            .iter()
            .position(|(f, t, _)| *f == file && *t == to)
        {
            Some(i) => used[i] = true,
            None => unexpected.push(format!("src/{file}:{line}: {from}/ imports {to}/")),
        }
    }
    assert!(
        unexpected.is_empty(),
        "imports that point up a layer (move the code down, or list the import in ALLOWED_UP with its reason):\n{}",
        unexpected.join("\n")
    );
    // A listed exception that no longer happens is taken off the list.
    for (i, (file, to, _)) in ALLOWED_UP.iter().enumerate() {
        assert!(
            used[i],
            "src/{file} no longer imports {to}/: remove it from ALLOWED_UP"
        );
    }
}

#[test]
fn the_check_sees_an_upward_import() {
    // The test above can fail: a file of a low folder naming a high one is
    // found, and one naming a lower folder, a comment or a doc link is not.
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("mod.rs"),
        "use crate::error::Error;\n// crate::chat in a comment\n/// [`Chat`](crate::Chat)\nfn f(_: &crate::Chat) {}\n",
    )
    .unwrap();
    let found = upward_imports(dir.path());
    assert_eq!(
        found,
        vec![(
            "rules/mod.rs".to_string(),
            4,
            "rules".to_string(),
            "chat".to_string()
        )]
    );
}
