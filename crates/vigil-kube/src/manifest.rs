//! Kubernetes objects read from manifest files.
//!
//! Accepted input, from a file, a folder (walked recursively, `.yaml`, `.yml` and `.json`
//! files in name order) or standard input (`-`):
//! - YAML streams of one or more documents separated by `---` (what `kubectl apply -f`
//!   takes, and what `helm template` prints, with a `# Source: chart/templates/x.yaml`
//!   comment before each document, kept as [`Object::helm_source`]);
//! - JSON: one object, or several concatenated;
//! - lists: `kind: List` or any `*List` kind with `items` (`kubectl get -o json|yaml`),
//!   expanded into their items.
//!
//! Manifests are untrusted input: files, documents, objects and nesting are bounded by
//! [`Limits`], and a bad document is an error naming the file, the document's index and
//! line, never a panic. Documents are split on `---` lines here (a `---` at column 0 ends a
//! YAML document wherever it appears) and each is parsed on its own, so the error can say
//! which document failed.

use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bounds on what one load may read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Most documents in one file.
    pub max_documents: usize,
    /// Most objects in one load, after lists are expanded.
    pub max_objects: usize,
    /// Most files in one load (folders).
    pub max_files: usize,
    /// Deepest nesting of maps and lists in one document.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 64 << 20,
            max_documents: 10_000,
            max_objects: 200_000,
            max_files: 100_000,
            max_depth: 64,
        }
    }
}

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// The file (`-` for standard input).
    pub file: PathBuf,
    /// 1-based index of the document in the file (YAML `---` sections, or JSON values).
    pub document: usize,
    /// 1-based index in the `items` of a List document, when the object came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    /// The `# Source:` comment `helm template` put before the document, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_source: Option<String>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} document {}", self.file.display(), self.document)?;
        if let Some(item) = self.item {
            write!(f, " item {item}")?;
        }
        if let Some(source) = &self.helm_source {
            write!(f, " ({source})")?;
        }
        Ok(())
    }
}

/// One Kubernetes object, as decoded JSON, with where it came from.
#[derive(Debug, Clone)]
pub struct Object {
    /// The object.
    pub value: Value,
    /// Where it was read.
    pub origin: Origin,
}

impl Object {
    /// `apiVersion`, or empty.
    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `kind`, or empty.
    pub fn kind(&self) -> &str {
        self.value
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata.name` (or `metadata.generateName`), or empty.
    pub fn name(&self) -> &str {
        let meta = self.value.get("metadata");
        meta.and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .or_else(|| {
                meta.and_then(|m| m.get("generateName"))
                    .and_then(Value::as_str)
            })
            .unwrap_or_default()
    }

    /// `metadata.namespace`, or empty.
    pub fn namespace(&self) -> &str {
        self.value
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `metadata.uid`, or empty.
    pub fn uid(&self) -> &str {
        self.value
            .get("metadata")
            .and_then(|m| m.get("uid"))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Why a manifest could not be read. Every variant names the input.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A document is not valid YAML or JSON, or not a Kubernetes object.
    #[error("{path}: document {document} (line {line}): {message}")]
    Document {
        /// The file.
        path: PathBuf,
        /// 1-based document index.
        document: usize,
        /// 1-based line where the document starts.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A limit was exceeded.
    #[error("{path}: {message}")]
    Limit {
        /// The file or folder.
        path: PathBuf,
        /// Which limit.
        message: String,
    },
}

/// Reads every object under `path` (a file, a folder, or `-` for standard input).
pub fn load(path: &Path, limits: &Limits) -> Result<Vec<Object>, ManifestError> {
    let mut out = Vec::new();
    if path == Path::new("-") {
        let bytes = read_limited(std::io::stdin().lock(), path, limits)?;
        parse_into(&bytes, path, Format::Sniff, limits, &mut out)?;
        return Ok(out);
    }
    let meta = std::fs::metadata(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        load_file(path, Format::from_path(path), limits, &mut out)?;
        return Ok(out);
    }
    let mut files = 0usize;
    let walker = walkdir::WalkDir::new(path)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| ManifestError::Io {
            path: e.path().unwrap_or(path).to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("file system loop")),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let format = match entry.path().extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            _ => continue,
        };
        files += 1;
        if files > limits.max_files {
            return Err(ManifestError::Limit {
                path: path.to_path_buf(),
                message: format!("more than {} manifest files", limits.max_files),
            });
        }
        load_file(entry.path(), format, limits, &mut out)?;
    }
    Ok(out)
}

/// Parses one in-memory manifest (YAML stream or JSON) as if read from `path`.
pub fn parse(bytes: &[u8], path: &Path, limits: &Limits) -> Result<Vec<Object>, ManifestError> {
    let mut out = Vec::new();
    parse_into(bytes, path, Format::from_path(path), limits, &mut out)?;
    Ok(out)
}

/// Document `document` of a YAML stream (1-based, as [`Origin::document`] counts them) and
/// the 1-based line of `text` it starts on; `None` past the last document.
pub fn yaml_document(text: &str, document: usize) -> Option<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let chunk = split_documents(text)
        .into_iter()
        .nth(document.checked_sub(1)?)?;
    Some((chunk.line, chunk.text.into_owned()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
    /// Decide from the first non-blank byte: `{` or `[` is JSON, anything else YAML.
    Sniff,
}

impl Format {
    fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("yaml" | "yml") => Format::Yaml,
            _ => Format::Sniff,
        }
    }
}

fn load_file(
    path: &Path,
    format: Format,
    limits: &Limits,
    out: &mut Vec<Object>,
) -> Result<(), ManifestError> {
    let file = std::fs::File::open(path).map_err(|source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = read_limited(file, path, limits)?;
    parse_into(&bytes, path, format, limits, out)
}

fn read_limited(r: impl Read, path: &Path, limits: &Limits) -> Result<Vec<u8>, ManifestError> {
    let mut bytes = Vec::new();
    r.take(limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(ManifestError::Limit {
            path: path.to_path_buf(),
            message: format!("larger than {} bytes", limits.max_file_bytes),
        });
    }
    Ok(bytes)
}

fn parse_into(
    bytes: &[u8],
    path: &Path,
    format: Format,
    limits: &Limits,
    out: &mut Vec<Object>,
) -> Result<(), ManifestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ManifestError::Document {
        path: path.to_path_buf(),
        document: 1,
        line: 1,
        message: format!("not UTF-8 text: {e}"),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let format = match format {
        Format::Sniff => match text.trim_start().as_bytes().first() {
            Some(b'{' | b'[') => Format::Json,
            _ => Format::Yaml,
        },
        f => f,
    };
    match format {
        Format::Json => parse_json(text, path, limits, out),
        _ => parse_yaml(text, path, limits, out),
    }
}

fn parse_json(
    text: &str,
    path: &Path,
    limits: &Limits,
    out: &mut Vec<Object>,
) -> Result<(), ManifestError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut document = 0usize;
    loop {
        let offset = stream.byte_offset();
        let Some(next) = stream.next() else { break };
        document += 1;
        let line = line_of(text, offset);
        let doc_err = |message: String| ManifestError::Document {
            path: path.to_path_buf(),
            document,
            line,
            message,
        };
        if document > limits.max_documents {
            return Err(too_many_documents(path, limits));
        }
        let value = next.map_err(|e| doc_err(format!("invalid JSON: {e}")))?;
        let origin = Origin {
            file: path.to_path_buf(),
            document,
            item: None,
            helm_source: None,
        };
        push_document(value, origin, limits, out).map_err(doc_err)?;
    }
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    // The value starts after any whitespace the stream skipped.
    let skipped = text
        .get(offset..)
        .map(|rest| rest.len() - rest.trim_start().len())
        .unwrap_or(0);
    let ws = text.get(offset..offset + skipped).unwrap_or_default();
    1 + before.matches('\n').count() + ws.matches('\n').count()
}

fn too_many_documents(path: &Path, limits: &Limits) -> ManifestError {
    ManifestError::Limit {
        path: path.to_path_buf(),
        message: format!("more than {} documents", limits.max_documents),
    }
}

/// One `---`-separated section of a YAML stream.
struct Chunk<'a> {
    /// 1-based line of the section's first line.
    line: usize,
    /// The section's text, with the `---` marker blanked out.
    text: std::borrow::Cow<'a, str>,
    /// The last `# Source:` comment in the section, before its content.
    helm_source: Option<String>,
}

/// Splits a YAML stream at `---` and `...` marker lines.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize; // byte offset of the current chunk
    let mut start_line = 1usize;
    let mut marker_rest: Option<String> = None; // text after `---` on the marker line
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_marker = |m: &str| {
            bare.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
        };
        if is_marker("---") || is_marker("...") {
            let body = text.get(start..offset).unwrap_or_default();
            chunks.push(make_chunk(body, start_line, marker_rest.take()));
            if is_marker("---") {
                // Content on the marker line (`--- {kind: Pod}`) belongs to the next
                // document; keep its columns by blanking the marker.
                let rest = bare.get(3..).unwrap_or_default();
                if !rest.trim().is_empty() {
                    marker_rest = Some(format!("   {rest}\n"));
                }
            }
            start = offset + line.len();
            start_line = i + 2;
            if marker_rest.is_some() {
                start_line = i + 1;
            }
        }
        offset += line.len();
    }
    let body = text.get(start..).unwrap_or_default();
    chunks.push(make_chunk(body, start_line, marker_rest.take()));
    chunks
}

fn make_chunk(body: &str, line: usize, marker_rest: Option<String>) -> Chunk<'_> {
    let mut helm_source = None;
    for l in body.lines() {
        let t = l.trim();
        if let Some(src) = t.strip_prefix("# Source:") {
            helm_source = Some(src.trim().to_string());
        } else if !(t.is_empty() || t.starts_with('#')) {
            break;
        }
    }
    let text = match marker_rest {
        Some(first) => std::borrow::Cow::Owned(first + body),
        None => std::borrow::Cow::Borrowed(body),
    };
    Chunk {
        line,
        text,
        helm_source,
    }
}

/// True when a section holds only blank lines, comments and directives (`%YAML 1.2`).
fn is_empty_section(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || l.starts_with('%')
    })
}

fn yaml_options(limits: &Limits, input_len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_events = budget.max_events.max(input_len.saturating_add(64));
    budget.max_nodes = budget.max_nodes.max(input_len.saturating_add(64));
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(input_len);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

fn parse_yaml(
    text: &str,
    path: &Path,
    limits: &Limits,
    out: &mut Vec<Object>,
) -> Result<(), ManifestError> {
    let chunks = split_documents(text);
    for (i, chunk) in chunks.iter().enumerate() {
        let document = i + 1;
        if document > limits.max_documents {
            return Err(too_many_documents(path, limits));
        }
        if is_empty_section(&chunk.text) {
            continue;
        }
        let doc_err = |message: String| ManifestError::Document {
            path: path.to_path_buf(),
            document,
            line: chunk.line,
            message,
        };
        let value: Value = serde_saphyr::from_str_with_options(
            &chunk.text,
            yaml_options(limits, chunk.text.len()),
        )
        .map_err(|e| doc_err(format!("invalid YAML: {e}")))?;
        let origin = Origin {
            file: path.to_path_buf(),
            document,
            item: None,
            helm_source: chunk.helm_source.clone(),
        };
        push_document(value, origin, limits, out).map_err(doc_err)?;
    }
    Ok(())
}

/// Checks one decoded document and adds its object(s) to `out`, expanding lists.
fn push_document(
    value: Value,
    origin: Origin,
    limits: &Limits,
    out: &mut Vec<Object>,
) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    let depth = depth(&value);
    if depth > limits.max_depth {
        return Err(format!(
            "nested {depth} levels deep, more than the limit of {}",
            limits.max_depth
        ));
    }
    let Value::Object(map) = &value else {
        return Err("not a Kubernetes object (expected a mapping with apiVersion and kind)".into());
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind.is_empty() {
        return Err("object has no kind".into());
    }
    if kind.ends_with("List") && map.contains_key("items") {
        let items = match map.get("items") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) => Vec::new(),
            _ => return Err(format!("{kind}: items is not a list")),
        };
        for (j, item) in items.into_iter().enumerate() {
            let origin = Origin {
                item: Some(j + 1),
                ..origin.clone()
            };
            let Value::Object(obj) = &item else {
                return Err(format!("{kind} item {}: not an object", j + 1));
            };
            if obj.get("kind").and_then(Value::as_str).is_none() {
                return Err(format!("{kind} item {}: object has no kind", j + 1));
            }
            push_object(item, origin, limits, out)?;
        }
        return Ok(());
    }
    push_object(value, origin, limits, out)
}

fn push_object(
    value: Value,
    origin: Origin,
    limits: &Limits,
    out: &mut Vec<Object>,
) -> Result<(), String> {
    if out.len() >= limits.max_objects {
        return Err(format!("more than {} objects", limits.max_objects));
    }
    out.push(Object { value, origin });
    Ok(())
}

/// Nesting depth of a value, computed without recursion.
fn depth(value: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str, name: &str) -> Result<Vec<Object>, ManifestError> {
        parse(text.as_bytes(), Path::new(name), &Limits::default())
    }

    #[test]
    fn multi_document_yaml_with_helm_sources() {
        let text = "---\n# Source: app/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n---\n# Source: app/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: prod\n...\n---\n\n";
        let objs = parse_str(text, "out.yaml").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].kind(), "ServiceAccount");
        assert_eq!(
            objs[0].origin.helm_source.as_deref(),
            Some("app/templates/sa.yaml")
        );
        assert_eq!(objs[1].namespace(), "prod");
        assert_eq!(objs[1].origin.document, 3);
        assert_eq!(
            objs[1].origin.helm_source.as_deref(),
            Some("app/templates/deploy.yaml")
        );
    }

    #[test]
    fn content_on_the_marker_line_and_block_scalars() {
        let text = "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n--- \napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata:\n  x: |\n    line ---\n    --- not a marker (indented)\n";
        let objs = parse_str(text, "x.yml").unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].name(), "a");
        assert_eq!(
            objs[1].value["data"]["x"],
            "line ---\n--- not a marker (indented)\n"
        );
    }

    #[test]
    fn kubectl_list_json_and_concatenated_json() {
        let text = r#"{"apiVersion":"v1","kind":"List","items":[
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x"}},
            {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"b"}}]}
            {"apiVersion":"v1","kind":"PodList","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"c"}}]}"#;
        let objs = parse_str(text, "list.json").unwrap();
        let names: Vec<_> = objs.iter().map(|o| o.name()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(objs[1].origin.item, Some(2));
        assert_eq!(objs[2].origin.document, 2);
    }

    #[test]
    fn errors_name_the_file_document_and_line() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: [unclosed\n";
        let err = parse_str(text, "bad.yaml").unwrap_err().to_string();
        assert!(
            err.starts_with("bad.yaml: document 2 (line 5): invalid YAML"),
            "{err}"
        );
        let err = parse_str("- a\n- b\n", "l.yaml").unwrap_err().to_string();
        assert!(
            err.contains("document 1") && err.contains("not a Kubernetes object"),
            "{err}"
        );
        let err = parse_str("{\"kind\":\"Pod\"}\n{\"kind\": ", "p.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.json: document 2 (line 2): invalid JSON"),
            "{err}"
        );
        let err = parse_str("apiVersion: v1\nmetadata: {}\n", "k.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no kind"), "{err}");
    }

    #[test]
    fn limits_hold_against_hostile_documents() {
        let deep = format!("kind: X\na: {}1{}\n", "[".repeat(200), "]".repeat(200));
        assert!(parse_str(&deep, "deep.yaml").is_err());
        let deep_json = format!(
            "{{\"kind\":\"X\",\"a\":{}1{}}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        let err = parse_str(&deep_json, "deep.json").unwrap_err().to_string();
        assert!(err.contains("levels deep"), "{err}");
        let bomb = "kind: X\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
        assert!(parse_str(bomb, "bomb.yaml").is_err());
        let limits = Limits {
            max_documents: 2,
            ..Limits::default()
        };
        let many = "kind: A\n---\nkind: B\n---\nkind: C\n";
        let err = parse(many.as_bytes(), Path::new("m.yaml"), &limits).unwrap_err();
        assert!(err.to_string().contains("more than 2 documents"));
    }

    #[test]
    fn folders_are_walked_in_name_order_and_other_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.yml"), "kind: B\n").unwrap();
        std::fs::write(dir.path().join("a.json"), "{\"kind\":\"A\"}").unwrap();
        std::fs::write(dir.path().join("sub/c.yaml"), "kind: C\n").unwrap();
        std::fs::write(dir.path().join("README.md"), "# not yaml: [").unwrap();
        let objs = load(dir.path(), &Limits::default()).unwrap();
        let kinds: Vec<_> = objs.iter().map(|o| o.kind()).collect();
        assert_eq!(kinds, ["A", "B", "C"]);
        let err = load(&dir.path().join("missing.yaml"), &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("missing.yaml"));
    }
}
