//! The OpenAPI 3.0.3 document of the HTTP API, `GET /api/v1/openapi.json`, served
//! without a token. It is written by hand in `openapi.json` and compiled in; the tests
//! below read the router sources and fail when a route is missing from the document,
//! or when the document lists a route that no source declares.

use super::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub fn routes() -> Router<AppState> {
    router()
}

/// The routes of this module, for any state (the tests serve them without one).
fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/api/v1/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openapiv3::{OpenAPI, Parameter, ReferenceOr, SecurityScheme};
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    /// The modules whose `routes()` the server merges, with their sources.
    const SOURCES: &[(&str, &str)] = &[
        ("health", include_str!("health.rs")),
        ("converse", include_str!("converse.rs")),
        ("api", include_str!("api.rs")),
        ("flows", include_str!("flows.rs")),
        ("desk", include_str!("desk.rs")),
        ("teams", include_str!("teams.rs")),
        ("articles", include_str!("articles.rs")),
        ("templates", include_str!("templates.rs")),
        ("stream", include_str!("stream.rs")),
        ("openapi", include_str!("openapi.rs")),
        ("webhooks", include_str!("webhooks.rs")),
        ("tokens", include_str!("tokens.rs")),
        ("totp", include_str!("totp.rs")),
        ("providers", include_str!("providers.rs")),
        ("contacts", include_str!("contacts.rs")),
        ("reports", include_str!("reports.rs")),
        ("audit", include_str!("audit.rs")),
        ("webchat", include_str!("webchat.rs")),
    ];

    const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

    /// Routes that need no token.
    const PUBLIC: &[(&str, &str)] = &[
        ("get", "/health"),
        ("get", "/ready"),
        ("get", "/metrics"),
        ("post", "/api/v1/auth/login"),
        ("get", "/api/v1/openapi.json"),
        // Authenticated by the provider's signature (tested in it::channels).
        ("get", "/webhooks/{kind}/{id}"),
        ("post", "/webhooks/{kind}/{id}"),
        // The channel's inbound_token (tested in it::email).
        ("post", "/webhooks/email/{id}"),
        // Visitors of a web chat: a session token of their own (it::webchat).
        ("get", "/webchat/{id}"),
        ("get", "/webchat/{id}/widget.js"),
        ("get", "/webchat/{id}/chat.js"),
        ("get", "/webchat/{id}/chat.css"),
        ("get", "/webchat/{id}/ws"),
        ("post", "/webchat/{id}/http"),
    ];

    type Route = (String, String);

    fn doc() -> OpenAPI {
        serde_json::from_str(DOCUMENT).expect("openapi.json is an OpenAPI 3.0 document")
    }

    fn raw() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Tok {
        Str(String),
        Ident(String),
        Punct(char),
    }

    /// A small Rust tokenizer: enough to read router definitions. Comments are
    /// dropped, string literals (raw ones too) kept whole, char literals and lifetimes
    /// skipped.
    fn tokens(src: &str) -> Vec<Tok> {
        let c: Vec<char> = src.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < c.len() {
            let ch = c[i];
            if ch.is_whitespace() {
                i += 1;
            } else if ch == '/' && c.get(i + 1) == Some(&'/') {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            } else if ch == '/' && c.get(i + 1) == Some(&'*') {
                i += 2;
                while i < c.len() && !(c[i] == '*' && c.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            } else if ch == 'r' && matches!(c.get(i + 1), Some('"' | '#')) {
                let mut j = i + 1;
                let mut hashes = 0;
                while c.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if c.get(j) != Some(&'"') {
                    out.push(Tok::Ident("r".into()));
                    i += 1;
                    continue;
                }
                let start = j + 1;
                let mut k = start;
                loop {
                    assert!(k < c.len(), "unterminated raw string");
                    if c[k] == '"' && (0..hashes).all(|h| c.get(k + 1 + h) == Some(&'#')) {
                        break;
                    }
                    k += 1;
                }
                out.push(Tok::Str(c[start..k].iter().collect()));
                i = k + 1 + hashes;
            } else if ch == '"' {
                let mut s = String::new();
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                    }
                    s.push(c[i]);
                    i += 1;
                }
                out.push(Tok::Str(s));
                i += 1;
            } else if ch == '\'' {
                // 'x' or '\n' is a char literal; anything else is a lifetime.
                if c.get(i + 1) == Some(&'\\') {
                    i += 2;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if c.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            } else if ch.is_alphanumeric() || ch == '_' {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(c[start..i].iter().collect()));
            } else {
                out.push(Tok::Punct(ch));
                i += 1;
            }
        }
        out
    }

    /// The source without its test module.
    fn production(src: &str) -> &str {
        src.split("#[cfg(test)]").next().unwrap_or(src)
    }

    fn is_call(t: &[Tok], i: usize, name: &str) -> bool {
        t.get(i) == Some(&Tok::Punct('.'))
            && t.get(i + 1) == Some(&Tok::Ident(name.into()))
            && t.get(i + 2) == Some(&Tok::Punct('('))
    }

    /// Every `.route("PATH", get(..).post(..)…)` of a source, as (method, path).
    fn routes_of(file: &str, src: &str) -> Vec<Route> {
        let t = tokens(production(src));
        for hidden in ["nest", "nest_service", "route_service", "fallback_service"] {
            assert!(
                !(0..t.len()).any(|i| is_call(&t, i, hidden)),
                "{file}.rs uses .{hidden}(…): teach this test to read it"
            );
        }
        let mut found = Vec::new();
        for i in 0..t.len() {
            if !is_call(&t, i, "route") {
                continue;
            }
            let Some(Tok::Str(path)) = t.get(i + 3) else {
                panic!("{file}.rs: a .route( whose path is not a string literal");
            };
            assert_eq!(
                t.get(i + 4),
                Some(&Tok::Punct(',')),
                "{file}.rs: route {path}"
            );
            // The method router runs to the `)` closing `.route(`; its methods are the
            // calls at its top level (handlers' own calls are nested deeper).
            let mut depth = 0usize;
            let mut methods = Vec::new();
            let mut j = i + 5;
            loop {
                let tok = t
                    .get(j)
                    .unwrap_or_else(|| panic!("{file}.rs: route {path} is not closed"));
                match tok {
                    Tok::Punct('(' | '[' | '{') => depth += 1,
                    Tok::Punct(')' | ']' | '}') if depth == 0 => break,
                    Tok::Punct(')' | ']' | '}') => depth -= 1,
                    Tok::Ident(name) if depth == 0 && t.get(j + 1) == Some(&Tok::Punct('(')) => {
                        assert!(
                            METHODS.contains(&name.as_str()),
                            "{file}.rs: route {path} uses {name}(…), which this test does not know"
                        );
                        methods.push(name.clone());
                    }
                    _ => {}
                }
                j += 1;
            }
            assert!(!methods.is_empty(), "{file}.rs: route {path} has no method");
            found.extend(methods.into_iter().map(|m| (m, path.clone())));
        }
        found
    }

    /// (method, path) → the file that declares it.
    fn declared() -> BTreeMap<Route, String> {
        let mut all = BTreeMap::new();
        for (file, src) in SOURCES {
            let routes = routes_of(file, src);
            assert!(!routes.is_empty(), "no route found in {file}.rs");
            for r in routes {
                if let Some(first) = all.insert(r.clone(), file.to_string()) {
                    panic!("{} {} is declared twice ({first}.rs, {file}.rs)", r.0, r.1);
                }
            }
        }
        all
    }

    /// (method, path) → operationId, for every operation of the document.
    fn documented() -> BTreeMap<Route, String> {
        let mut ops = BTreeMap::new();
        for (path, item) in doc().paths.iter() {
            let ReferenceOr::Item(item) = item else {
                panic!("path {path} is a $ref; write it out");
            };
            for (method, op) in item.iter() {
                let id = op.operation_id.clone().unwrap_or_default();
                ops.insert((method.to_string(), path.clone()), id);
            }
        }
        ops
    }

    #[test]
    fn openapi_document_is_valid_openapi_3() {
        let d = doc();
        assert_eq!(d.openapi, "3.0.3");
        assert!(!d.info.title.is_empty());
        assert!(!d.paths.paths.is_empty());
    }

    #[test]
    fn openapi_every_ref_resolves() {
        fn walk(v: &Value, at: &str, root: &Value, refs: &mut usize) {
            match v {
                Value::Object(map) => {
                    if let Some(r) = map.get("$ref") {
                        let r = r
                            .as_str()
                            .unwrap_or_else(|| panic!("{at}: $ref not a string"));
                        let pointer = r
                            .strip_prefix('#')
                            .unwrap_or_else(|| panic!("{at}: $ref {r} is not local"));
                        assert!(
                            root.pointer(pointer).is_some(),
                            "{at}: $ref {r} does not resolve"
                        );
                        *refs += 1;
                    }
                    for (k, v) in map {
                        walk(
                            v,
                            &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                            root,
                            refs,
                        );
                    }
                }
                Value::Array(list) => {
                    for (i, v) in list.iter().enumerate() {
                        walk(v, &format!("{at}/{i}"), root, refs);
                    }
                }
                _ => {}
            }
        }
        let root = raw();
        let mut refs = 0;
        walk(&root, "#", &root, &mut refs);
        assert!(refs > 50, "only {refs} $refs: the walk is broken");
    }

    #[test]
    fn openapi_operations_have_unique_ids_summaries_and_responses() {
        let d = doc();
        let mut ids = BTreeMap::new();
        for (path, item) in d.paths.iter() {
            let ReferenceOr::Item(item) = item else {
                panic!("path {path} is a $ref");
            };
            for (method, op) in item.iter() {
                let at = format!("{} {path}", method.to_uppercase());
                let id = op
                    .operation_id
                    .clone()
                    .unwrap_or_else(|| panic!("{at} has no operationId"));
                if let Some(other) = ids.insert(id.clone(), at.clone()) {
                    panic!("operationId {id} is used by {other} and {at}");
                }
                let summary = op.summary.as_deref().unwrap_or("");
                assert!(
                    !summary.trim().is_empty() && !summary.contains('\n'),
                    "{at} needs a one-line summary"
                );
                assert!(
                    !op.responses.responses.is_empty(),
                    "{at} documents no response"
                );
                // Every `{name}` of the path is a path parameter of the operation.
                let params: BTreeSet<String> = op
                    .parameters
                    .iter()
                    .map(|p| match p {
                        ReferenceOr::Item(p) => p.clone(),
                        ReferenceOr::Reference { reference } => {
                            let name = reference
                                .strip_prefix("#/components/parameters/")
                                .unwrap_or_else(|| panic!("{at}: parameter {reference}"));
                            match &d.components.as_ref().unwrap().parameters[name] {
                                ReferenceOr::Item(p) => p.clone(),
                                ReferenceOr::Reference { .. } => panic!("{at}: nested $ref"),
                            }
                        }
                    })
                    .filter(|p| matches!(p, Parameter::Path { .. }))
                    .map(|p| p.parameter_data().name)
                    .collect();
                let in_path: BTreeSet<String> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .map(str::to_string)
                    .collect();
                assert_eq!(in_path, params, "{at}: path parameters");
            }
        }
    }

    #[test]
    fn openapi_errors_use_the_one_error_schema() {
        let root = raw();
        let components = &root["components"]["responses"];
        for (name, r) in components.as_object().unwrap() {
            assert_eq!(
                r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                "components/responses/{name}"
            );
        }
        for (path, item) in root["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for (code, r) in op["responses"].as_object().unwrap() {
                    let code: u16 = code.parse().unwrap();
                    if code < 400 || (path == "/ready" && code == 503) {
                        continue;
                    }
                    let r = r["$ref"].as_str().unwrap_or("");
                    assert!(
                        r.starts_with("#/components/responses/"),
                        "{method} {path} answers {code} without the Error response"
                    );
                }
            }
        }
    }

    #[test]
    fn openapi_bearer_auth_everywhere_but_public_routes() {
        let d = doc();
        let components = d.components.as_ref().unwrap();
        assert!(
            matches!(
                &components.security_schemes["bearerAuth"],
                ReferenceOr::Item(SecurityScheme::HTTP { scheme, .. }) if scheme == "bearer"
            ),
            "bearerAuth must be an http bearer scheme"
        );
        for ((method, path), _) in documented() {
            let item = d.paths.paths[&path].as_item().unwrap();
            let op = item.iter().find(|(m, _)| *m == method).unwrap().1;
            let schemes: Vec<String> = op
                .security
                .as_ref()
                .unwrap_or_else(|| panic!("{method} {path} must state its security"))
                .iter()
                .flat_map(|req| req.keys().cloned())
                .collect();
            if PUBLIC.contains(&(method.as_str(), path.as_str())) {
                assert!(schemes.is_empty(), "{method} {path} needs no token");
            } else {
                assert!(path.starts_with("/api/v1/"), "{method} {path}");
                assert_eq!(schemes, ["bearerAuth"], "{method} {path} needs a token");
            }
        }
    }

    #[test]
    fn openapi_documents_every_route_of_the_sources() {
        let documented = documented();
        let missing: Vec<String> = declared()
            .into_iter()
            .filter(|(r, _)| !documented.contains_key(r))
            .map(|((m, p), file)| format!("{} {p} (declared in {file}.rs)", m.to_uppercase()))
            .collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json:\n  {}",
            missing.join("\n  ")
        );
    }

    #[test]
    fn openapi_documents_only_routes_of_the_sources() {
        let declared = declared();
        let unknown: Vec<String> = documented()
            .into_iter()
            .filter(|(r, _)| !declared.contains_key(r))
            .map(|((m, p), id)| format!("{} {p} (operationId {id})", m.to_uppercase()))
            .collect();
        assert!(
            unknown.is_empty(),
            "openapi.json documents routes that no source declares:\n  {}",
            unknown.join("\n  ")
        );
    }

    #[test]
    fn openapi_route_reader_reads_what_it_must() {
        let src = r#"
            // .route("/commented", get(nothing))
            fn routes() -> Router<S> {
                Router::new()
                    .route("/a/{id}", get(|| async { Json(json!({ "x": f(1) })) }))
                    .route("/b", get(list).post(create).put(replace).delete(drop_it))
                    .route(
                        "/c", // a comment )
                        post(handler::<'static>),
                    )
            }
            #[cfg(test)]
            mod tests { fn f() { x.route("/test-only", get(t)); } }
        "#;
        let got: Vec<String> = routes_of("sample", src)
            .into_iter()
            .map(|(m, p)| format!("{m} {p}"))
            .collect();
        assert_eq!(
            got,
            [
                "get /a/{id}",
                "get /b",
                "post /b",
                "put /b",
                "delete /b",
                "post /c"
            ]
        );
    }

    /// The server merges exactly the modules whose routes are checked here.
    #[test]
    fn openapi_sources_are_the_merged_modules() {
        let t = tokens(production(include_str!("mod.rs")));
        let merged: BTreeSet<String> = (0..t.len())
            .filter(|&i| is_call(&t, i, "merge"))
            .filter_map(|i| match &t[i + 3] {
                // `crate::web::routes()`: the HTML pages, not the API.
                Tok::Ident(m) if m == "crate" => None,
                Tok::Ident(m) => Some(m.clone()),
                _ => None,
            })
            .collect();
        let known: BTreeSet<String> = SOURCES.iter().map(|(f, _)| f.to_string()).collect();
        let unread: Vec<&String> = merged.difference(&known).collect();
        assert!(
            unread.is_empty(),
            "mod.rs merges routes of {unread:?}: add them to SOURCES and to openapi.json"
        );
        for (file, _) in SOURCES {
            assert!(
                merged.contains(*file),
                "mod.rs does not merge {file}::routes()"
            );
        }
    }

    #[tokio::test]
    async fn openapi_is_served_as_json_without_a_token() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router::<()>()).await.unwrap();
        });
        let response = crate::tls::client()
            .get(format!("http://{addr}/api/v1/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[reqwest::header::CONTENT_TYPE],
            "application/json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, raw());
        server.abort();
    }
}
