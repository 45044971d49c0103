//! Gatekeeper compatibility: ConstraintTemplates and Constraints, loaded unchanged.
//!
//! [`load`] sorts objects into templates (`templates.gatekeeper.sh`) and constraints
//! (`constraints.gatekeeper.sh`), compiles each template once ([`template`]) and binds
//! each constraint to its template ([`constraint`]). A template or constraint that fails
//! is reported with its file and name and left out; the others keep working, as in
//! Gatekeeper.

pub mod cel;
pub mod cluster;
pub mod constraint;
pub mod template;

pub use cluster::ClusterData;
pub use constraint::{Constraint, Match};
pub use template::Template;

use crate::manifest::Object;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Something in the policy files that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file.
    pub file: PathBuf,
    /// 1-based document in the file.
    pub document: usize,
    /// `ConstraintTemplate k8srequiredlabels`, `K8sRequiredLabels must-have-owner`.
    pub object: String,
    /// What is wrong (with a line and column for Rego errors).
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (document {}): {}: {}",
            self.file.display(),
            self.document,
            self.object,
            self.message
        )
    }
}

/// The templates and constraints that loaded, and what did not.
#[derive(Default)]
pub struct Library {
    /// Compiled templates by Constraint kind.
    pub templates: Vec<Arc<Template>>,
    /// Constraints bound to their templates, in file order.
    pub constraints: Vec<Constraint>,
    /// What failed.
    pub errors: Vec<LoadError>,
    /// Objects that are neither (ignored).
    pub ignored: usize,
}

/// True for a ConstraintTemplate object.
pub fn is_template(o: &Object) -> bool {
    o.kind() == "ConstraintTemplate" && o.api_version().starts_with("templates.gatekeeper.sh/")
}

/// True for a Constraint object (any kind in `constraints.gatekeeper.sh`).
pub fn is_constraint(o: &Object) -> bool {
    o.api_version().starts_with("constraints.gatekeeper.sh/")
}

/// Compiles the templates among `objects` and binds the constraints to them.
/// `timeout` bounds one template evaluation.
pub fn load(objects: &[Object], cluster: Arc<ClusterData>, timeout: Duration) -> Library {
    let mut library = Library::default();
    let mut files: HashMap<PathBuf, Option<String>> = HashMap::new();
    let mut by_kind: HashMap<String, Arc<Template>> = HashMap::new();
    let error = |o: &Object, object: String, message: String| LoadError {
        file: o.origin.file.clone(),
        document: o.origin.document,
        object,
        message,
    };
    for o in objects.iter().filter(|o| is_template(o)) {
        let text = files
            .entry(o.origin.file.clone())
            .or_insert_with(|| std::fs::read_to_string(&o.origin.file).ok());
        // Only the template's own document: templates bundled in one file often carry
        // the same libs, and an error must point into the template that has it.
        let document = text
            .as_deref()
            .and_then(|text| crate::manifest::yaml_document(text, o.origin.document));
        let source = document
            .as_ref()
            .map(|(first_line, text)| template::SourceText {
                text,
                first_line: *first_line,
            });
        let what = format!("ConstraintTemplate {}", o.name());
        match Template::compile(&o.value, source.as_ref(), cluster.inventory(), timeout) {
            Ok(t) if by_kind.contains_key(&t.kind) => library.errors.push(error(
                o,
                what,
                format!("another template already defines kind {}", t.kind),
            )),
            Ok(t) => {
                let t = Arc::new(t);
                by_kind.insert(t.kind.clone(), t.clone());
                library.templates.push(t);
            }
            Err(message) => library.errors.push(error(o, what, message)),
        }
    }
    for o in objects {
        if is_template(o) {
            continue;
        }
        if !is_constraint(o) {
            library.ignored += 1;
            continue;
        }
        let what = format!("{} {}", o.kind(), o.name());
        let Some(template) = by_kind.get(o.kind()) else {
            library.errors.push(error(
                o,
                what,
                format!("no loaded ConstraintTemplate defines kind {}", o.kind()),
            ));
            continue;
        };
        match Constraint::new(&o.value, template.clone(), cluster.clone()) {
            Ok(c) => library.constraints.push(c),
            Err(message) => library.errors.push(error(o, what, message)),
        }
    }
    library
}
