//! A flow drawn from its model, for the workspace's Flows page: steps as nodes (the
//! start marked, unreachable steps flagged), and every way from one step to another as
//! a labelled edge (`next`, a route's match, a branch's condition, `otherwise`,
//! `on_timeout`, `on_error`, `on_no_answer`). Pure: `of` builds the graph, `svg` lays
//! it out in layers (breadth-first depth from the start) and draws it as SVG with no
//! script and no inline style, so the page's CSP holds. Same flow, same bytes.

use crate::model::{Action, Flow, Matcher, Step};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    /// The step's action (`say`, `ask`, `handoff`…).
    pub kind: &'static str,
    pub start: bool,
    pub unreachable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// Every way a step continues, with what takes it.
fn ways(s: &Step) -> Vec<(String, &str)> {
    let mut out: Vec<(String, &str)> = Vec::new();
    match &s.action {
        Action::Ask(a) => {
            for r in &a.routes {
                let label = match &r.matcher {
                    Matcher::Keywords(k) => format!("keywords: {}", k.join(", ")),
                    Matcher::Regex(p) => format!("regex: {}", p.source),
                    Matcher::Intent(i) => format!("intent: {i}"),
                    Matcher::Button(b) => format!("button: {}", b.join(", ")),
                    Matcher::When(e) => format!("when: {}", e.source),
                };
                out.push((label, &r.next.step));
            }
            if let Some(t) = &a.otherwise {
                out.push(("else".into(), &t.step));
            }
            if let Some(t) = &a.on_timeout {
                out.push(("on_timeout".into(), &t.step));
            }
        }
        Action::Branch(cases) => {
            for c in cases {
                out.push((format!("when: {}", c.when.source), &c.next.step));
            }
        }
        Action::Http(h) => {
            if let Some(t) = &h.on_error {
                out.push(("on_error".into(), &t.step));
            }
        }
        Action::Answer(a) => {
            if let Some(t) = &a.on_no_answer {
                out.push(("on_no_answer".into(), &t.step));
            }
        }
        _ => {}
    }
    if let Some(n) = &s.next {
        out.push(("next".into(), &n.step));
    }
    out
}

/// The flow's graph. Edges to steps the flow does not have are left out (`relais
/// check` reports them).
pub fn of(flow: &Flow) -> Graph {
    let mut edges = Vec::new();
    for s in &flow.steps {
        for (label, to) in ways(s) {
            if flow.step(to).is_some() {
                edges.push(Edge {
                    from: s.name.clone(),
                    to: to.to_owned(),
                    label,
                });
            }
        }
    }
    let depth = depths(flow, &edges);
    let nodes = flow
        .steps
        .iter()
        .map(|s| Node {
            id: s.name.clone(),
            kind: s.action.name(),
            start: s.name == flow.start.step,
            unreachable: !depth.contains_key(s.name.as_str()),
        })
        .collect();
    Graph { nodes, edges }
}

/// Breadth-first depth of each step reachable from the start.
fn depths<'a>(flow: &'a Flow, edges: &'a [Edge]) -> HashMap<&'a str, usize> {
    let mut depth: HashMap<&str, usize> = HashMap::new();
    if flow.step(&flow.start.step).is_none() {
        return depth;
    }
    let mut queue = VecDeque::from([(flow.start.step.as_str(), 0usize)]);
    depth.insert(&flow.start.step, 0);
    while let Some((at, d)) = queue.pop_front() {
        for e in edges.iter().filter(|e| e.from == at) {
            if !depth.contains_key(e.to.as_str()) {
                depth.insert(&e.to, d + 1);
                queue.push_back((&e.to, d + 1));
            }
        }
    }
    depth
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// At most `n` characters, with an ellipsis when cut.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

const W: i64 = 170;
const H: i64 = 44;
const GAP_X: i64 = 40;
const GAP_Y: i64 = 70;
const PAD: i64 = 20;

/// The graph drawn top to bottom: one row per depth from the start, unreachable steps
/// in a last row; edges as arrows with their labels; edges going back up curve to
/// the side.
pub fn svg(g: &Graph) -> String {
    // Layers: depth from the start (recomputed from the graph's own edges).
    let start = g.nodes.iter().find(|n| n.start).map(|n| n.id.as_str());
    let mut depth: HashMap<&str, usize> = HashMap::new();
    if let Some(s) = start {
        let mut queue = VecDeque::from([(s, 0usize)]);
        depth.insert(s, 0);
        while let Some((at, d)) = queue.pop_front() {
            for e in g.edges.iter().filter(|e| e.from == at) {
                if !depth.contains_key(e.to.as_str()) {
                    depth.insert(&e.to, d + 1);
                    queue.push_back((&e.to, d + 1));
                }
            }
        }
    }
    let last = depth.values().max().map_or(0, |d| d + 1);
    let mut rows: Vec<Vec<&Node>> = vec![Vec::new(); last + 1];
    for n in &g.nodes {
        let row = depth.get(n.id.as_str()).copied().unwrap_or(last);
        rows[row].push(n);
    }
    rows.retain(|r| !r.is_empty());
    let widest = rows.iter().map(Vec::len).max().unwrap_or(1) as i64;
    let width = PAD * 2 + widest * W + (widest - 1).max(0) * GAP_X + 120;
    let height = PAD * 2 + rows.len() as i64 * H + (rows.len() as i64 - 1).max(0) * GAP_Y;
    let mut at: HashMap<&str, (i64, i64)> = HashMap::new();
    for (r, row) in rows.iter().enumerate() {
        let row_width = row.len() as i64 * W + (row.len() as i64 - 1) * GAP_X;
        let left = (width - 120 - row_width) / 2;
        for (i, n) in row.iter().enumerate() {
            let x = left + i as i64 * (W + GAP_X);
            let y = PAD + r as i64 * (H + GAP_Y);
            at.insert(n.id.as_str(), (x, y));
        }
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flow-graph\" role=\"img\" \
         aria-label=\"{} steps, {} transitions\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#5b6476\"/></marker></defs>",
        g.nodes.len(),
        g.edges.len()
    );
    for (i, e) in g.edges.iter().enumerate() {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (at.get(e.from.as_str()), at.get(e.to.as_str()))
        else {
            continue;
        };
        let (path, lx, ly) = if y2 > y1 {
            // Down: from the bottom of one box to the top of the other.
            let (ax, ay, bx, by) = (x1 + W / 2, y1 + H, x2 + W / 2, y2);
            let my = (ay + by) / 2;
            (
                format!("M{ax},{ay} C{ax},{my} {bx},{my} {bx},{by}"),
                (ax + bx) / 2,
                my,
            )
        } else {
            // Back up or across: around the right side, each a little further out.
            let off = 30 + (i as i64 % 5) * 12;
            let (ax, ay, bx, by) = (x1 + W, y1 + H / 2, x2 + W, y2 + H / 2);
            let cx = ax.max(bx) + off;
            (
                format!("M{ax},{ay} C{cx},{ay} {cx},{by} {bx},{by}"),
                cx - 4,
                (ay + by) / 2,
            )
        };
        let _ = write!(
            out,
            "<g class=\"edge\"><path d=\"{path}\" fill=\"none\" stroke=\"#5b6476\" stroke-width=\"1.3\" \
             marker-end=\"url(#arrow)\"/><text class=\"label\" x=\"{lx}\" y=\"{ly}\" text-anchor=\"middle\" \
             fill=\"#1d2330\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text></g>",
            xml(&short(&e.label, 28))
        );
    }
    for n in &g.nodes {
        let Some(&(x, y)) = at.get(n.id.as_str()) else {
            continue;
        };
        let class = match (n.start, n.unreachable) {
            (true, _) => "node start",
            (_, true) => "node unreachable",
            _ => "node",
        };
        let (fill, stroke, dash, width) = match (n.start, n.unreachable) {
            (true, _) => ("#eef3ff", "#2457c5", "", "2.5"),
            (_, true) => ("#fdecea", "#8a1c13", " stroke-dasharray=\"5 3\"", "1.5"),
            _ => ("#ffffff", "#5b6476", "", "1.2"),
        };
        let _ = write!(
            out,
            "<g class=\"{class}\"><title>{id} ({kind}){note}</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{W}\" height=\"{H}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/>\
             <text x=\"{tx}\" y=\"{ty}\" text-anchor=\"middle\" font-weight=\"{weight}\" fill=\"#1d2330\">{name}</text>\
             <text x=\"{tx}\" y=\"{ky}\" text-anchor=\"middle\" fill=\"#5b6476\" font-size=\"11\">{kind}</text></g>",
            id = xml(&n.id),
            kind = n.kind,
            note = if n.unreachable {
                " — unreachable"
            } else if n.start {
                " — start"
            } else {
                ""
            },
            tx = x + W / 2,
            ty = y + 18,
            ky = y + 34,
            weight = if n.start { 700 } else { 500 },
            name = xml(&short(&n.id, 22)),
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flow as read from its file, before the workspace's checks (which refuse
    /// unreachable steps: the drawing must still show them).
    fn flow(src: &str) -> Flow {
        let mut d = crate::diag::Diags::new("flows/t.yaml");
        let f = crate::parse::flow(src, &mut d);
        f.filter(|_| !d.has_errors())
            .unwrap_or_else(|| panic!("{:?}", d.items))
    }

    const MENU: &str = r#"flow: t
trigger: { on: message }
start: start
steps:
  start:
    ask:
      prompt: { text: "Hello", buttons: [{ id: track, title: Track }, { id: human, title: Human }] }
      routes:
        - { match: { button: track }, next: number }
        - { match: { keywords: ["agent", "<human>"] }, next: human }
      else: start
  number:
    ask:
      prompt: "Your order number?"
      save: order
    next: done
  done:
    say: "Thanks"
    next: start
  human:
    handoff: { reason: requested }
"#;

    #[test]
    fn steps_become_nodes_and_every_way_between_them_a_labelled_edge() {
        let g = of(&flow(MENU));
        let ids: Vec<&str> = g.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids.len(), 4);
        let start = g.nodes.iter().find(|n| n.start).unwrap();
        assert_eq!((start.id.as_str(), start.kind), ("start", "ask"));
        assert!(g.nodes.iter().all(|n| !n.unreachable));
        let edge = |from: &str, to: &str| {
            g.edges
                .iter()
                .find(|e| e.from == from && e.to == to)
                .map(|e| e.label.clone())
        };
        assert_eq!(edge("start", "number").as_deref(), Some("button: track"));
        assert_eq!(
            edge("start", "human").as_deref(),
            Some("keywords: agent, <human>")
        );
        assert_eq!(edge("start", "start").as_deref(), Some("else"));
        assert_eq!(edge("number", "done").as_deref(), Some("next"));
        assert_eq!(edge("done", "start").as_deref(), Some("next"), "a cycle");
        assert_eq!(
            g.nodes.iter().find(|n| n.id == "human").unwrap().kind,
            "handoff"
        );
    }

    #[test]
    fn the_drawing_flags_unreachable_steps_escapes_text_and_is_stable() {
        let src = format!("{MENU}  orphan:\n    say: \"never\"\n    next: human\n");
        let f = flow(&src);
        let g = of(&f);
        assert!(
            g.nodes
                .iter()
                .find(|n| n.id == "orphan")
                .unwrap()
                .unreachable
        );
        let svg = svg(&g);
        assert_eq!(svg, super::svg(&of(&f)), "same flow, same bytes");
        assert_eq!(svg.matches("<g class=\"node").count(), 5);
        assert_eq!(svg.matches("<g class=\"node unreachable\">").count(), 1);
        assert_eq!(svg.matches("<g class=\"node start\">").count(), 1);
        assert!(svg.contains("keywords: agent, &lt;human&gt;"), "{svg}");
        assert!(!svg.contains("<human>") && !svg.contains("style="));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\""));
    }
}
