//! A YAML document as a tree of [`Node`]s that remember where they were written, so that
//! every later check can say `line:column`. Built on saphyr's event parser with budgets:
//! bounded size, depth and alias expansion (no billion laughs).

use std::fmt;

/// Largest accepted file.
pub const MAX_BYTES: usize = 1 << 20;
/// Deepest accepted nesting.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to, aliases included.
pub const MAX_NODES: usize = 200_000;

/// A position in a file: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written; `plain` when unquoted (then `true`, `3`, `~` have their YAML meaning).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

/// A document that is not well-formed YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct Error {
    pub pos: Pos,
    pub message: String,
}

impl Node {
    /// The text of a scalar; `None` for a sequence or map.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The entries of a map; `None` for anything else.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// What kind of node this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } if self.is_null() => "nothing",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// The node as JSON, with YAML 1.2 core-schema typing of plain scalars.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Scalar { text, plain } => {
                if !plain {
                    return J::String(text.clone());
                }
                if self.is_null() {
                    return J::Null;
                }
                match text.as_str() {
                    "true" | "True" | "TRUE" => return J::Bool(true),
                    "false" | "False" | "FALSE" => return J::Bool(false),
                    _ => {}
                }
                if let Ok(i) = text.parse::<i64>() {
                    return J::from(i);
                }
                if looks_like_float(text)
                    && let Ok(f) = text.parse::<f64>()
                    && let Some(n) = serde_json::Number::from_f64(f)
                {
                    return J::Number(n);
                }
                J::String(text.clone())
            }
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

fn looks_like_float(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    !t.is_empty()
        && t.chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}

/// Parses one YAML document. An empty document is an empty map.
// Long by design: one loop over the parser's events, one arm per event kind, with the
// budgets checked where the nodes are built.
pub fn parse(source: &str) -> Result<Node, Error> {
    use saphyr_parser::{Event, Parser, ScalarStyle};
    if source.len() > MAX_BYTES {
        return Err(Error {
            pos: Pos { line: 1, col: 1 },
            message: format!("the file is larger than {MAX_BYTES} bytes"),
        });
    }
    enum Frame {
        Seq(Pos, usize, Vec<Node>),
        Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = Default::default();
    let mut nodes = 0usize;
    let mut root: Option<Node> = None;
    let mut documents = 0;

    // Places a finished node into its parent, or makes it the root.
    fn place(
        stack: &mut [Frame],
        root: &mut Option<Node>,
        node: Node,
        anchors: &mut std::collections::HashMap<usize, Node>,
        anchor: usize,
    ) {
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, key)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => *root = Some(node),
        }
    }

    let mut parser = Parser::new_from_str(source);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| Error {
            pos: Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            },
            message: format!("this is not valid YAML: {}", e.info()),
        })?;
        let pos = Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        };
        if stack.len() > MAX_DEPTH {
            return Err(Error {
                pos,
                message: format!("the document is nested deeper than {MAX_DEPTH} levels"),
            });
        }
        if nodes > MAX_NODES {
            return Err(Error {
                pos,
                message: format!("the document has more than {MAX_NODES} nodes"),
            });
        }
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(Error {
                        pos,
                        message: "a file holds one YAML document; remove the second `---`".into(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, _) => {
                nodes += 1;
                let node = Node {
                    value: Value::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    pos,
                };
                place(&mut stack, &mut root, node, &mut anchors, anchor);
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id).cloned() else {
                    return Err(Error {
                        pos,
                        message: "this alias refers to an unknown anchor".into(),
                    });
                };
                nodes += count(&target);
                if nodes > MAX_NODES {
                    return Err(Error {
                        pos,
                        message: format!("aliases expand the document past {MAX_NODES} nodes"),
                    });
                }
                let node = Node { pos, ..target };
                place(&mut stack, &mut root, node, &mut anchors, 0);
            }
            Event::SequenceStart(anchor, _) => {
                nodes += 1;
                stack.push(Frame::Seq(pos, anchor, Vec::new()));
            }
            Event::MappingStart(anchor, _) => {
                nodes += 1;
                stack.push(Frame::Map(pos, anchor, Vec::new(), None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Seq(p, a, items)) => (
                        Node {
                            value: Value::Seq(items),
                            pos: p,
                        },
                        a,
                    ),
                    Some(Frame::Map(p, a, entries, _)) => (
                        Node {
                            value: Value::Map(entries),
                            pos: p,
                        },
                        a,
                    ),
                    None => continue,
                };
                place(&mut stack, &mut root, node, &mut anchors, anchor);
            }
            Event::StreamEnd => break,
            _ => {}
        }
    }
    Ok(root.unwrap_or(Node {
        value: Value::Map(Vec::new()),
        pos: Pos { line: 1, col: 1 },
    }))
}

fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Scalar { .. } => 0,
        Value::Seq(items) => items.iter().map(count).sum(),
        Value::Map(entries) => entries.iter().map(|(k, v)| count(k) + count(v)).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_line_and_column() {
        let doc = parse("flow: a\nsteps:\n  x:\n    say: hi\n").unwrap();
        let say = doc
            .get("steps")
            .unwrap()
            .get("x")
            .unwrap()
            .get("say")
            .unwrap();
        assert_eq!(say.pos, Pos { line: 4, col: 10 });
        assert_eq!(say.as_str(), Some("hi"));
    }

    #[test]
    fn core_schema_typing_only_for_plain_scalars() {
        let doc = parse("a: 3\nb: '3'\nc: true\nd: ~\ne: 1.5\nf: no\n").unwrap();
        let j = doc.to_json();
        assert_eq!(j["a"], serde_json::json!(3));
        assert_eq!(j["b"], serde_json::json!("3"));
        assert_eq!(j["c"], serde_json::json!(true));
        assert_eq!(j["d"], serde_json::Value::Null);
        assert_eq!(j["e"], serde_json::json!(1.5));
        // YAML 1.2: `no` is a string, not false.
        assert_eq!(j["f"], serde_json::json!("no"));
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e}");
        assert!(e.message.contains("not valid YAML"), "{e}");
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for name in ['b', 'c', 'd', 'e', 'f', 'g', 'h'] {
            doc.push_str(&format!(
                "{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = name;
        }
        let e = parse(&doc).unwrap_err();
        assert!(e.message.contains("nodes"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let doc = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&doc).is_err());
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let doc = parse("base: &b {x: 1}\nother: *b\n").unwrap();
        assert_eq!(doc.to_json()["other"]["x"], serde_json::json!(1));
    }

    #[test]
    fn empty_document_is_an_empty_map() {
        assert_eq!(parse("").unwrap().as_map().map(<[_]>::len), Some(0));
    }
}
