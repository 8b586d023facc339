//! The dependency picture of `src/` (DESIGN.md, "Dependency direction"), checked: a module
//! that names a module of a layer above it fails this test, as ArchUnit rules do.
//!
//! How it reads the code: every `.rs` file under `src/` (and `loadtest/src/`) with its
//! comments removed; each path `crate::X…`, `upgate::X…` or `super::…` that resolves to
//! another top-level module is an edge. The table below lists, for each top-level
//! module, the modules it may name; anything else is a violation, printed with file and
//! line. Inside `api/`, an adapter (one folder per wire protocol) may use the shared
//! pieces of `api/` but never another adapter. In `loadtest/`, the crate may use only
//! `upgate::{client, model}` and `upgate_proto` (the in-process gateway launcher,
//! `gateway.rs`, also `app` and `config`), and its modules must not import each other in
//! a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the modules it may import. `*` means any.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("state", &["model"]),
    ("blob", &["model"]),
    ("ratelimit", &["model"]),
    ("core", &["model", "state", "blob"]),
    ("import", &["model", "core", "ratelimit"]),
    ("hooks", &["model", "core"]),
    ("auth", &["model", "core"]),
    ("server", &["model"]),
    ("client", &["model"]),
    ("api", &["model", "core", "auth", "ratelimit", "server"]),
    ("config", &["model", "ratelimit", "client"]),
    ("cli", &["model", "client", "auth", "config"]),
    ("app", &["*"]),
    ("main", &["*"]),
    ("lib", &["*"]),
];

/// The wire-protocol adapters under `api/`: each may use `api`'s shared modules only.
const ADAPTERS: &[&str] = &["files", "kaltura", "ps2", "canvas", "admin", "web", "ops"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's module path below the crate root: `src/a/b.rs` → [a, b],
/// `src/a/mod.rs` → [a], `src/lib.rs` → [lib].
fn module_path(crate_src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(crate_src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod") && parts.len() > 1 {
        parts.pop();
    }
    parts
}

/// The source with `//` comments (line, doc) and string literals blanked, line by line.
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let mut out = String::new();
            let mut in_str = false;
            let mut prev = ' ';
            let chars: Vec<char> = line.chars().collect();
            let mut i = 0;
            while i < chars.len() {
                let c = chars[i];
                if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                    break;
                }
                if c == '"' && prev != '\\' {
                    in_str = !in_str;
                }
                out.push(if in_str { ' ' } else { c });
                prev = c;
                i += 1;
            }
            out
        })
        .collect()
}

fn ident_at(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| &s[..end])
}

/// Every module path a line names, resolved from the crate root: `crate::a::b` → [a, b];
/// `super::x` from module [a, b] → [a, x]. Other paths (`std::…`, `self::…`, a local
/// item's `Type::method`) are not edges.
fn named_paths(line: &str, here: &[String], crate_name: &str) -> Vec<Vec<String>> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find(is_path_char) {
        let tail = &rest[start..];
        let end = tail.find(|c: char| !is_path_char(c)).unwrap_or(tail.len());
        let segs: Vec<&str> = tail[..end].split("::").filter(|s| !s.is_empty()).collect();
        rest = &tail[end..];
        let resolved: Vec<String> = match segs.first() {
            Some(&"crate") => segs[1..].iter().map(|s| s.to_string()).collect(),
            Some(&first) if first == crate_name => {
                segs[1..].iter().map(|s| s.to_string()).collect()
            }
            Some(&"super") => {
                let ups = segs.iter().take_while(|s| **s == "super").count();
                // A file's own module is `here`; each `super` climbs one level.
                let base = here.len().saturating_sub(ups);
                let mut p = here[..base].to_vec();
                p.extend(segs[ups..].iter().map(|s| s.to_string()));
                p
            }
            _ => continue,
        };
        if tail[..end].ends_with("::") && rest.starts_with('{') {
            // A group, `crate::{a::X, b}`: each member's first name is a path below.
            let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
            for member in inner.split(',') {
                if let Some(name) = ident_at(member.trim()) {
                    let mut p = resolved.clone();
                    p.push(name.to_owned());
                    out.push(p);
                }
            }
        } else if !resolved.is_empty() {
            out.push(resolved);
        }
    }
    out
}

struct Edge {
    from: Vec<String>,
    to: Vec<String>,
    at: String,
}

fn edges(crate_src: &Path, crate_name: &str) -> Vec<Edge> {
    let mut files = Vec::new();
    rust_files(crate_src, &mut files);
    files.sort();
    let top: BTreeSet<String> = files
        .iter()
        .map(|f| module_path(crate_src, f)[0].clone())
        .collect();
    let mut out = Vec::new();
    for f in files {
        let here = module_path(crate_src, &f);
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in code_lines(&text).iter().enumerate() {
            for to in named_paths(line, &here, crate_name) {
                if !top.contains(&to[0]) {
                    continue; // an item of the crate root (`super::*` in a test module, say)
                }
                out.push(Edge {
                    from: here.clone(),
                    to,
                    at: format!("{}:{}", f.display(), n + 1),
                });
            }
        }
    }
    out
}

fn allowed(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    match ALLOWED.iter().find(|(m, _)| *m == from) {
        Some((_, list)) => list.contains(&"*") || list.contains(&to),
        None => false,
    }
}

#[test]
fn layers_point_down() {
    let src = root().join("src");
    let mut bad = Vec::new();
    let mut seen_modules = BTreeSet::new();
    for e in edges(&src, "upgate") {
        let (from, to) = (e.from[0].as_str(), e.to[0].as_str());
        seen_modules.insert(from.to_owned());
        if !allowed(from, to) {
            bad.push(format!("{}: `{from}` must not use `{to}`", e.at));
        }
    }
    for m in &seen_modules {
        assert!(
            ALLOWED.iter().any(|(n, _)| n == m),
            "module `{m}` is not in the table of tests/architecture.rs: add its allowed edges"
        );
    }
    assert!(bad.is_empty(), "layer violations:\n{}", bad.join("\n"));
}

#[test]
fn adapters_do_not_use_each_other() {
    let src = root().join("src");
    let mut bad = Vec::new();
    for e in edges(&src, "upgate") {
        if e.from[0] != "api" || e.to.first().map(String::as_str) != Some("api") {
            continue;
        }
        let from = e.from.get(1).map(String::as_str);
        let to = e.to.get(1).map(String::as_str);
        let (Some(to), from) = (to, from) else {
            continue;
        };
        if !ADAPTERS.contains(&to) {
            continue; // shared pieces of api/ are for everyone
        }
        let from_adapter = from.filter(|f| ADAPTERS.contains(f));
        if from_adapter != Some(to) {
            bad.push(format!(
                "{}: `api::{}` must not use the adapter `api::{to}`",
                e.at,
                from.unwrap_or("")
            ));
        }
    }
    assert!(bad.is_empty(), "adapter violations:\n{}", bad.join("\n"));
}

#[test]
fn loadtest_uses_only_client_model_and_proto() {
    let src = root().join("loadtest/src");
    let mut bad = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for f in &files {
        let here = module_path(&src, f);
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (n, line) in code_lines(&text).iter().enumerate() {
            for (i, _) in line.match_indices("upgate::") {
                if i > 0 && line[..i].ends_with('_') {
                    continue;
                }
                let what = ident_at(&line[i + "upgate::".len()..]).unwrap_or("");
                let ok = matches!(what, "client" | "model")
                    || (here[0] == "gateway" && matches!(what, "app" | "config"));
                if !ok {
                    bad.push(format!(
                        "{}:{}: loadtest must not use upgate::{what}",
                        f.display(),
                        n + 1
                    ));
                }
            }
            for to in named_paths(line, &here, "upgate_loadtest") {
                let known = files.iter().any(|f| module_path(&src, f)[0] == to[0]);
                if known && to[0] != here[0] {
                    graph
                        .entry(here[0].clone())
                        .or_default()
                        .insert(to[0].clone());
                }
            }
        }
    }
    for (a, outs) in &graph {
        for b in outs {
            if graph.get(b).is_some_and(|back| back.contains(a)) {
                bad.push(format!(
                    "loadtest modules `{a}` and `{b}` import each other"
                ));
            }
        }
    }
    assert!(bad.is_empty(), "loadtest violations:\n{}", bad.join("\n"));
}

#[test]
fn the_checker_sees_edges() {
    // The reader itself: paths in code count, in comments and strings they do not.
    let here = vec!["state".to_owned(), "redb".to_owned()];
    let line = &code_lines("use crate::core::Error; // crate::api")[0];
    let p = named_paths(line, &here, "upgate");
    assert_eq!(p, vec![vec!["core".to_owned(), "Error".to_owned()]]);
    let p = named_paths(
        "let x = super::super::blob::X; y::z(std::io::X)",
        &here,
        "upgate",
    );
    assert_eq!(p, vec![vec!["blob".to_owned(), "X".to_owned()]]);
    let p = named_paths("use crate::{api::X, core};", &here, "upgate");
    assert_eq!(p, vec![vec!["api".to_owned()], vec!["core".to_owned()]]);
    let lines = code_lines("let s = \"crate::api\"; //! crate::core");
    assert!(named_paths(&lines[0], &here, "upgate").is_empty());
    assert!(!allowed("state", "core"));
    assert!(allowed("core", "state"));
}
