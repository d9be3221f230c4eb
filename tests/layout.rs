//! The module graph of `src/` has no import cycles. Every `crate::` and `super::` path in the
//! code (in `use` lines and inline) is an edge from the module that names it to the module it
//! names; an edge between two modules counts between their ancestors that are siblings, so a
//! cycle between `cli` and `client` is found whichever of their files import each other. Edges
//! between a module and its own parent or children are not cycles: a parent declares its
//! children and re-exports them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

type Module = Vec<String>;

/// Every module of the crate, with its source (comments removed).
fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut m = prefix.clone();
            m.push(name);
            modules(&path, &m, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut m = prefix.clone();
            if !matches!(name.as_str(), "mod" | "lib" | "main") {
                m.push(name);
            }
            let code: String = fs::read_to_string(&path)
                .unwrap()
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            out.entry(m).or_default().push_str(&code);
        }
    }
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = path.find('{') else {
        return vec![path];
    };
    let (head, rest) = path.split_at(open);
    let inner = &rest[1..rest.len() - 1];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{head}{p}")))
        .collect()
}

/// Every `crate::` or `super::` path the code names.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `use` statements, braces and all.
    for stmt in code.split(';') {
        if let Some(i) = stmt.find("use ") {
            let used = stmt[i + 4..].trim();
            if used.starts_with("crate::") || used.starts_with("super::") {
                out.extend(expand(used));
            }
        }
    }
    // Inline paths.
    for start in ["crate::", "super::"] {
        for (i, _) in code.match_indices(start) {
            let tail: String = code[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(tail);
        }
    }
    out
}

/// The module a path names: the longest existing module along it.
fn resolve(from: &Module, path: &str, known: &BTreeMap<Module, String>) -> Option<Module> {
    let mut parts = path.split("::").filter(|p| !p.is_empty());
    let mut m: Module = match parts.next()? {
        "crate" => Vec::new(),
        "super" => {
            let mut m = from.clone();
            m.pop()?;
            while parts.clone().next() == Some("super") {
                parts.next();
                m.pop()?;
            }
            m
        }
        _ => return None,
    };
    for p in parts {
        let mut next = m.clone();
        next.push(p.to_string());
        if known.contains_key(&next) {
            m = next;
        } else {
            break;
        }
    }
    Some(m)
}

#[test]
fn src_has_no_import_cycles() {
    let mut known = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    modules(&src, &Vec::new(), &mut known);
    assert!(known.len() > 10, "found only {:?}", known.keys());
    // Edges between siblings: for a -> b, the children of their common ancestor on each side.
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    let mut why: BTreeMap<(Module, Module), String> = BTreeMap::new();
    for (from, code) in &known {
        for path in paths(code) {
            let Some(to) = resolve(from, &path, &known) else {
                continue;
            };
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // a module and its parent or child
            }
            let a = from[..=common].to_vec();
            let b = to[..=common].to_vec();
            why.entry((a.clone(), b.clone()))
                .or_insert_with(|| format!("{} names {path}", from.join("::")));
            edges.entry(a).or_default().insert(b);
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        stack: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(i) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(m.clone());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.clone());
        for n in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(n, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(cycle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            let steps: Vec<String> = cycle
                .windows(2)
                .map(|w| why[&(w[0].clone(), w[1].clone())].clone())
                .collect();
            panic!("import cycle: {}", steps.join(" -> "));
        }
    }
}

#[test]
fn the_path_expander_and_resolver_work() {
    assert_eq!(
        expand("crate::a::{b, c::{d, e}}"),
        ["crate::a::b", "crate::a::c::d", "crate::a::c::e"]
    );
    let mut known = BTreeMap::new();
    for m in [vec![], vec!["a".to_string()], vec!["a".into(), "b".into()]] {
        known.insert(m, String::new());
    }
    let b = vec!["a".to_string(), "b".to_string()];
    assert_eq!(resolve(&b, "super::Thing", &known), Some(vec!["a".into()]));
    assert_eq!(resolve(&b, "crate::a::b::X", &known), Some(b.clone()));
    assert_eq!(resolve(&b, "std::io", &known), None);
}
