//! Where registry credentials come from, in the order skopeo and Docker look:
//! `--username/--password-stdin`, `REGISTRY_AUTH_FILE` (or the given file), podman's
//! `$XDG_RUNTIME_DIR/containers/auth.json`, then Docker's `config.json` with its
//! credential helpers. Nothing found means anonymous access.

use super::RegistryOptions;
use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;

/// The parts of an auth file Vigil reads (Docker's and podman's share this shape).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Finds credentials for `registry` (`host[:port]`).
pub fn lookup(registry: &str, opts: &RegistryOptions) -> Result<RegistryAuth, String> {
    if let Some(user) = &opts.username {
        return Ok(RegistryAuth::Basic(
            user.clone(),
            opts.password.clone().unwrap_or_default(),
        ));
    }
    for path in auth_files(opts) {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read auth file {}: {e}", path.display())),
        };
        let file: AuthFile = serde_json::from_str(&text)
            .map_err(|e| format!("invalid auth file {}: {e}", path.display()))?;
        if let Some(auth) =
            from_file(&file, registry).map_err(|e| format!("{}: {e}", path.display()))?
        {
            tracing::debug!(registry, file = %path.display(), "using stored credentials");
            return Ok(auth);
        }
    }
    Ok(RegistryAuth::Anonymous)
}

/// The auth files to try, most specific first.
fn auth_files(opts: &RegistryOptions) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(p) = &opts.auth_file {
        files.push(p.clone());
        return files;
    }
    if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(dir).join("containers/auth.json"));
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        files.push(PathBuf::from(dir).join("config.json"));
    } else if let Some(home) = std::env::var_os("HOME") {
        files.push(PathBuf::from(home).join(".docker/config.json"));
    }
    files
}

/// The keys under which a registry's entry may be stored.
fn keys_for(registry: &str) -> Vec<String> {
    let mut keys = vec![registry.to_string()];
    if ["docker.io", "index.docker.io", "registry-1.docker.io"].contains(&registry) {
        keys.extend(
            [
                "https://index.docker.io/v1/",
                "docker.io",
                "index.docker.io",
            ]
            .map(String::from),
        );
    }
    keys
}

/// An `auths` key normalized to `host[:port]` (keys may be URLs with paths).
fn host_of(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

fn from_file(file: &AuthFile, registry: &str) -> Result<Option<RegistryAuth>, String> {
    let keys = keys_for(registry);
    if let Some(helper) = keys.iter().find_map(|k| file.cred_helpers.get(k)) {
        return helper_get(helper, registry).map(Some);
    }
    let entry = file
        .auths
        .iter()
        .find(|(k, _)| keys.iter().any(|want| want == *k || want == host_of(k)))
        .map(|(_, v)| v);
    if let Some(entry) = entry {
        if let Some(encoded) = &entry.auth {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|e| format!("invalid auth for {registry}: {e}"))?;
            let text = String::from_utf8(decoded)
                .map_err(|_| format!("invalid auth for {registry}: not UTF-8"))?;
            let (user, pass) = text
                .split_once(':')
                .ok_or_else(|| format!("invalid auth for {registry}: no ':' in user:password"))?;
            return Ok(Some(RegistryAuth::Basic(
                user.to_string(),
                pass.to_string(),
            )));
        }
        if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
            return Ok(Some(RegistryAuth::Basic(u.clone(), p.clone())));
        }
    }
    match &file.creds_store {
        Some(store) => helper_get(store, registry).map(Some),
        None => Ok(None),
    }
}

/// Asks `docker-credential-<helper>` for the registry's credentials (the Docker
/// credential-helper protocol: server URL on stdin, JSON on stdout).
fn helper_get(helper: &str, registry: &str) -> Result<RegistryAuth, String> {
    use std::io::Write;
    #[derive(Deserialize)]
    struct Reply {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    if !helper
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(format!("invalid credential helper name {helper:?}"));
    }
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(registry.as_bytes())
            .map_err(|e| format!("{program}: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout);
        // "credentials not found" is an answer, not a failure: go on anonymously.
        if msg.contains("not found") {
            return Ok(RegistryAuth::Anonymous);
        }
        return Err(format!("{program} failed: {}", msg.trim()));
    }
    let reply: Reply = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{program}: invalid reply: {e}"))?;
    Ok(RegistryAuth::Basic(reply.username, reply.secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_config_entries() {
        let file: AuthFile = serde_json::from_str(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},
                "localhost:5000":{"username":"a","password":"b"}}}"#,
        )
        .unwrap_or_default();
        assert!(matches!(
            from_file(&file, "index.docker.io"),
            Ok(Some(RegistryAuth::Basic(u, p))) if u == "user" && p == "pass"
        ));
        assert!(matches!(
            from_file(&file, "localhost:5000"),
            Ok(Some(RegistryAuth::Basic(u, _))) if u == "a"
        ));
        assert!(matches!(from_file(&file, "quay.io"), Ok(None)));
    }

    #[test]
    fn bad_auth_is_an_error_not_anonymous() {
        let file: AuthFile =
            serde_json::from_str(r#"{"auths":{"r":{"auth":"!!"}}}"#).unwrap_or_default();
        assert!(from_file(&file, "r").is_err());
    }
}
