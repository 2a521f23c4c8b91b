//! The sandboxed template language of flows: Jinja syntax through minijinja, with no
//! loader (no file access), a fuel budget, an output cap, and only the values a flow run
//! hands in. Rendering inserts values as text and never renders them again, so a
//! customer who types `{{ 7*7 }}` sees it as typed.

use crate::hours::Hours;
use minijinja::value::Value as JValue;
use minijinja::{Environment, ErrorKind, State, UndefinedBehavior};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Longest text a template may render to; longer output is an error.
pub const MAX_OUTPUT: usize = 8 * 1024;
/// Instructions a single render or evaluation may spend.
pub const FUEL: u64 = 20_000;
/// The variable that carries the run's clock to `business_hours`.
pub const NOW_MS: &str = "_now_ms";

/// Team hours by team id, for `business_hours('team')`.
pub type TeamHours = HashMap<String, Hours>;

/// One environment per loaded workspace.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    pub fn new(hours: Arc<TeamHours>) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_recursion_limit(32);
        env.add_function(
            "business_hours",
            move |state: &State, team: String| -> Result<bool, minijinja::Error> {
                let now = state
                    .lookup(NOW_MS)
                    .and_then(|v| i64::try_from(v).ok())
                    .unwrap_or_default();
                match hours.get(&team) {
                    Some(h) => Ok(h.is_open(now)),
                    None => Err(minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("business_hours: unknown team {team:?}"),
                    )),
                }
            },
        );
        Templates { env }
    }

    /// Checks a template's syntax.
    pub fn check_template(&self, source: &str) -> Result<(), String> {
        self.env
            .template_from_str(source)
            .map(|_| ())
            .map_err(|e| describe(&e))
    }

    /// Checks an expression's syntax.
    pub fn check_expr(&self, source: &str) -> Result<(), String> {
        self.env
            .compile_expression(source)
            .map(|_| ())
            .map_err(|e| describe(&e))
    }

    /// The root names of variables a template reads (`order` for `order.status`).
    pub fn template_vars(&self, source: &str) -> BTreeSet<String> {
        match self.env.template_from_str(source) {
            Ok(t) => roots(t.undeclared_variables(false)),
            Err(_) => BTreeSet::new(),
        }
    }

    pub fn expr_vars(&self, source: &str) -> BTreeSet<String> {
        match self.env.compile_expression(source) {
            Ok(e) => roots(e.undeclared_variables(false)),
            Err(_) => BTreeSet::new(),
        }
    }

    /// Renders a template. Plain text without `{` is returned as is.
    pub fn render(&self, source: &str, ctx: &JValue) -> Result<String, String> {
        self.render_inner(source, ctx, false).map(|(out, _)| out)
    }

    /// Renders a template and names the variables it read that `ctx` does not set
    /// (they rendered as empty text), compiling the template once.
    pub fn render_checked(
        &self,
        source: &str,
        ctx: &JValue,
    ) -> Result<(String, Vec<String>), String> {
        self.render_inner(source, ctx, true)
    }

    fn render_inner(
        &self,
        source: &str,
        ctx: &JValue,
        find_unset: bool,
    ) -> Result<(String, Vec<String>), String> {
        if !source.contains('{') {
            return Ok((source.to_owned(), Vec::new()));
        }
        let t = self
            .env
            .template_from_str(source)
            .map_err(|e| describe(&e))?;
        let out = t.render(ctx).map_err(|e| describe(&e))?;
        if out.len() > MAX_OUTPUT {
            return Err(format!("the text is longer than {MAX_OUTPUT} bytes"));
        }
        let unset = if find_unset {
            roots(t.undeclared_variables(false))
                .into_iter()
                .filter(|v| {
                    !crate::check::BUILTIN_VARS.contains(&v.as_str())
                        && ctx.get_attr(v).is_ok_and(|x| x.is_undefined())
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok((out, unset))
    }

    /// Evaluates an expression to a JSON value.
    pub fn eval(&self, source: &str, ctx: &JValue) -> Result<serde_json::Value, String> {
        let e = self
            .env
            .compile_expression(source)
            .map_err(|e| describe(&e))?;
        let v = e.eval(ctx).map_err(|e| describe(&e))?;
        if v.is_undefined() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::to_value(&v).map_err(|e| e.to_string())
    }

    /// Evaluates a condition; an undefined or none value is false.
    pub fn test(&self, source: &str, ctx: &JValue) -> Result<bool, String> {
        let e = self
            .env
            .compile_expression(source)
            .map_err(|e| describe(&e))?;
        e.eval(ctx).map(|v| v.is_true()).map_err(|e| describe(&e))
    }
}

/// Any serialisable value as a template value.
pub fn value<T: serde::Serialize>(v: &T) -> JValue {
    JValue::from(minijinja::value::Serde(v))
}

fn roots(names: std::collections::HashSet<String>) -> BTreeSet<String> {
    names
        .into_iter()
        .map(|n| n.split('.').next().unwrap_or_default().to_owned())
        .collect()
}

/// A one-line description of a template error, without minijinja's template name.
fn describe(e: &minijinja::Error) -> String {
    let mut s = match e.detail() {
        Some(d) => format!("{}: {d}", kind_text(e.kind())),
        None => kind_text(e.kind()).to_owned(),
    };
    if let Some(line) = e.line()
        && line > 1
    {
        s.push_str(&format!(" (line {line} of the text)"));
    }
    s
}

fn kind_text(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::SyntaxError => "syntax error",
        ErrorKind::UnknownFilter => "unknown filter",
        ErrorKind::UnknownFunction => "unknown function",
        ErrorKind::UnknownTest => "unknown test",
        ErrorKind::OutOfFuel => "the template ran too long",
        ErrorKind::InvalidOperation => "invalid operation",
        ErrorKind::UndefinedError => "undefined value",
        ErrorKind::BadSerialization => "bad value",
        _ => "template error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t() -> Templates {
        Templates::new(Arc::new(TeamHours::new()))
    }

    fn ctx(v: serde_json::Value) -> JValue {
        crate::template::value(&v)
    }

    #[test]
    fn variables_render_as_text_and_are_never_rendered_again() {
        let out = t()
            .render(
                "You said: {{ last_message }}",
                &ctx(json!({"last_message": "{{ 7*7 }}"})),
            )
            .unwrap();
        assert_eq!(out, "You said: {{ 7*7 }}");
    }

    #[test]
    fn no_html_escaping() {
        let out = t().render("{{ x }}", &ctx(json!({"x": "<b>&"}))).unwrap();
        assert_eq!(out, "<b>&");
    }

    #[test]
    fn missing_variables_render_empty_even_through_attributes() {
        let out = t().render("[{{ order.status }}]", &ctx(json!({}))).unwrap();
        assert_eq!(out, "[]");
        assert_eq!(
            t().template_vars("{{ order.status }} {{ a | default('x') }}"),
            ["a", "order"].map(String::from).into()
        );
    }

    #[test]
    fn filters_and_expressions() {
        let t = t();
        let c = ctx(json!({"order_id": "A 1/2", "n": "42", "contact": {"tier": "vip"}}));
        assert_eq!(
            t.render("{{ order_id | urlencode }}", &c).unwrap(),
            "A%201/2"
        );
        assert_eq!(t.eval("n | int + 1", &c).unwrap(), json!(43));
        assert!(t.test("contact.tier == 'vip'", &c).unwrap());
        assert!(!t.test("missing", &c).unwrap());
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let e = t()
            .render(
                "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                &ctx(json!({})),
            )
            .unwrap_err();
        assert!(e.contains("too long") || e.contains("longer"), "{e}");
    }

    #[test]
    fn syntax_errors_are_described() {
        let e = t().check_template("Hello {{ name").unwrap_err();
        assert!(e.starts_with("syntax error"), "{e}");
        assert!(t().check_expr("a ==").is_err());
    }

    #[test]
    fn no_access_to_the_host() {
        // No loader: include/import find nothing.
        assert!(
            t().render("{% include '/etc/passwd' %}", &ctx(json!({})))
                .is_err()
        );
    }

    #[test]
    fn business_hours_reads_the_run_clock() {
        let hours = Hours::parse(
            "Europe/Paris",
            &[("mon-fri".into(), "09:00-18:00".into())],
            &[],
        )
        .unwrap();
        let t = Templates::new(Arc::new(HashMap::from([("support".to_owned(), hours)])));
        // 2026-11-23 10:00 Paris = 09:00 UTC.
        let open = 1_795_424_400_000_i64;
        assert!(
            t.test("business_hours('support')", &ctx(json!({ NOW_MS: open })))
                .unwrap()
        );
        assert!(
            !t.test(
                "business_hours('support')",
                &ctx(json!({ NOW_MS: open + 9 * 3_600_000 }))
            )
            .unwrap()
        );
        assert!(
            t.test("business_hours('nope')", &ctx(json!({ NOW_MS: open })))
                .is_err()
        );
    }
}
