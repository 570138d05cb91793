//! Static files for `--www` (served at `/`) and `--pkg` (served at `/pkg/`).

use std::path::{Path, PathBuf};

use crate::response::Response;

/// Content type for a file name, by extension.
pub fn content_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        // Covers `.d.ts` too.
        "ts" | "txt" | "md" => "text/plain; charset=utf-8",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Outcome of mapping a URL path below a served directory to a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A path inside the directory (it may not exist).
    File(PathBuf),
    /// The path tries to leave the directory or is otherwise unsafe.
    Forbidden,
}

/// Maps a decoded URL path relative to `root` (no leading `/` needed) to a file.
///
/// Rejects `..` segments, backslashes, NUL bytes and drive-like segments.
/// An empty path or one ending in `/` maps to `index.html`.
pub fn resolve(root: &Path, rel: &str) -> Resolved {
    if rel.contains('\\') || rel.contains('\0') {
        return Resolved::Forbidden;
    }
    let mut path = root.to_path_buf();
    for segment in rel.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Resolved::Forbidden,
            s if s.contains(':') => return Resolved::Forbidden,
            s => path.push(s),
        }
    }
    if rel.is_empty() || rel.ends_with('/') {
        path.push("index.html");
    }
    Resolved::File(path)
}

/// Serves `rel` below `root`: 200 with the file, 400 for traversal, 404 otherwise.
pub async fn serve(root: &Path, rel: &str) -> Response {
    let path = match resolve(root, rel) {
        Resolved::File(p) => p,
        Resolved::Forbidden => {
            return Response::text(400, "bad path: '..' and '\\' are not allowed");
        }
    };
    let path = match tokio::fs::metadata(&path).await {
        Ok(m) if m.is_dir() => path.join("index.html"),
        Ok(_) => path,
        Err(_) => return Response::text(404, "not found"),
    };
    match tokio::fs::read(&path).await {
        Ok(body) => {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Response {
                status: 200,
                content_type: content_type(&name).to_owned(),
                headers: Vec::new(),
                body,
            }
        }
        Err(_) => Response::text(404, "not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("a.wasm"), "application/wasm");
        assert_eq!(content_type("a.MJS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("x.d.ts"), "text/plain; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("s.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("p.json"), "application/json");
        assert_eq!(content_type("i.png"), "image/png");
        assert_eq!(content_type("i.svg"), "image/svg+xml");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn resolves_inside_root_only() {
        let root = Path::new("/srv");
        assert_eq!(resolve(root, ""), Resolved::File("/srv/index.html".into()));
        assert_eq!(
            resolve(root, "a/b.js"),
            Resolved::File("/srv/a/b.js".into())
        );
        assert_eq!(
            resolve(root, "a/"),
            Resolved::File("/srv/a/index.html".into())
        );
        assert_eq!(resolve(root, "a/../../etc"), Resolved::Forbidden);
        assert_eq!(resolve(root, ".."), Resolved::Forbidden);
        assert_eq!(resolve(root, "a\\..\\b"), Resolved::Forbidden);
        assert_eq!(resolve(root, "c:/x"), Resolved::Forbidden);
    }
}
