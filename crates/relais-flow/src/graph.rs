//! A flow drawn for the workspace's Flows page. [`of`] reads a [`Flow`] as a [`Graph`]:
//! one node per step, one labelled edge per field through which a step names another
//! (the fields of `check::targets`). [`svg`] lays it out top to bottom, one layer per
//! breadth-first depth from the start (unreachable steps last), and draws it as SVG
//! with no script and no inline style (the page's CSP), every text escaped. Pure: same
//! graph, same bytes.

use crate::model::{Action, Flow, Matcher, Msg, Step, Text};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

/// One step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The step's name.
    pub id: String,
    /// Its action as written in the file (`say`, `ask`, `branch`, `http`, `set`,
    /// `template`, `handoff`, `answer`, `wait`, `goto`, `resolve`).
    pub kind: &'static str,
    /// Where a run leaves the flow here, when the step says: `team support` for a
    /// handoff, `other-flow#step` for a goto.
    pub exit: Option<String>,
    pub start: bool,
    /// No path from the start reaches it.
    pub unreachable: bool,
}

/// One way from a step to another, labelled with the field that takes it.
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

/// The flow's graph, steps in file order. A field naming a step the flow does not
/// have draws no edge (`relais check` reports it).
pub fn of(flow: &Flow) -> Graph {
    let mut edges = Vec::new();
    for s in &flow.steps {
        for (label, to) in ways(flow, s) {
            let (from, to) = (s.name.clone(), to.to_owned());
            if flow.step(&to).is_some() {
                edges.push(Edge { from, to, label });
            }
        }
    }
    let mut nodes: Vec<Node> = flow.steps.iter().map(|s| node(flow, s)).collect();
    let (depth, _) = layers(&nodes, &edges);
    for (n, d) in nodes.iter_mut().zip(depth) {
        n.unreachable = d.is_none();
    }
    Graph { nodes, edges }
}

fn node(flow: &Flow, s: &Step) -> Node {
    let exit = match &s.action {
        Action::Handoff(h) => h.team.as_ref().map(|t| format!("team {}", t.step)),
        Action::Goto { flow, step, .. } => Some(match step {
            Some(st) => format!("{flow}#{st}"),
            None => flow.clone(),
        }),
        _ => None,
    };
    let (id, kind, start) = (s.name.clone(), s.action.name(), s.name == flow.start.step);
    Node {
        id,
        kind,
        exit,
        start,
        unreachable: false,
    }
}

/// Every step a step names, with the field that names it: what `check::targets` reads.
fn ways<'a>(flow: &Flow, s: &'a Step) -> Vec<(String, &'a str)> {
    let mut out: Vec<(String, &'a str)> = Vec::new();
    match &s.action {
        Action::Ask(a) => {
            for r in &a.routes {
                let label = match &r.matcher {
                    Matcher::Keywords(k) => format!("keywords: {}", k.join(", ")),
                    Matcher::Regex(p) => format!("regex: {}", p.source),
                    Matcher::Intent(i) => format!("intent: {i}"),
                    Matcher::Button(ids) => {
                        let own = a.prompt.as_ref();
                        let named: Vec<String> =
                            ids.iter().map(|id| button(flow, own, id)).collect();
                        format!("button: {}", named.join(", "))
                    }
                    Matcher::When(e) => format!("when: {}", e.source),
                };
                out.push((label, &r.next.step));
            }
            out.extend(a.otherwise.iter().map(|t| ("else".into(), &*t.step)));
            if let Some(t) = &a.on_timeout {
                let label = a
                    .timeout
                    .map_or("on_timeout".into(), |d| format!("on_timeout ({d})"));
                out.push((label, &t.step));
            }
        }
        Action::Branch(cases) => {
            for c in cases {
                out.push((format!("when: {}", c.when.source), &c.next.step));
            }
        }
        Action::Http(h) => out.extend(h.on_error.iter().map(|t| ("on_error".into(), &*t.step))),
        Action::Answer(a) => out.extend(
            a.on_no_answer
                .iter()
                .map(|t| ("on_no_answer".into(), &*t.step)),
        ),
        _ => {}
    }
    if let Some(n) = &s.next {
        let label = match &s.action {
            Action::Wait(d) => format!("next (after {d})"),
            _ => "next".into(),
        };
        out.push((label, &n.step));
    }
    out
}

/// A button id with its title (in the flow's language) when the title says more: the
/// ask's own prompt is searched first, then every `say` and prompt of the flow.
fn button(flow: &Flow, own: Option<&Msg>, id: &str) -> String {
    let msgs = own
        .into_iter()
        .chain(flow.steps.iter().filter_map(|s| match &s.action {
            Action::Say(m) => Some(m),
            Action::Ask(a) => a.prompt.as_ref(),
            _ => None,
        }));
    let mut all = msgs.flat_map(|m| m.buttons.iter().chain(&m.list));
    let title = all.find(|b| b.id == id).map_or("", |b| match &b.title {
        Text::One(t) => &t.source,
        Text::PerLanguage(v) => {
            let t = v.iter().find(|(l, _)| *l == flow.language).or(v.first());
            t.map_or("", |(_, t)| &t.source)
        }
    });
    match title {
        "" => id.to_owned(),
        t if t == id => id.to_owned(),
        t => format!("{id} ({t})"),
    }
}

/// Breadth-first depth of each node from the start (`None`: unreachable), and the
/// reachable nodes in the order found. Each node is queued once, so cycles end.
fn layers(nodes: &[Node], edges: &[Edge]) -> (Vec<Option<usize>>, Vec<usize>) {
    let mut out = vec![Vec::new(); nodes.len()];
    for (a, b, _) in ends(nodes, edges) {
        out[a].push(b);
    }
    let (mut depth, mut found) = (vec![None; nodes.len()], Vec::new());
    let mut queue: VecDeque<usize> = nodes.iter().position(|n| n.start).into_iter().collect();
    queue.iter().for_each(|&s| depth[s] = Some(0));
    while let Some(a) = queue.pop_front() {
        found.push(a);
        for &b in &out[a] {
            if depth[b].is_none() {
                depth[b] = depth[a].map(|d| d + 1);
                queue.push_back(b);
            }
        }
    }
    (depth, found)
}

/// The edges between nodes the graph has, with their nodes' indices.
fn ends<'a>(nodes: &[Node], edges: &'a [Edge]) -> Vec<(usize, usize, &'a Edge)> {
    let at: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (&*n.id, i)).collect();
    let find = |s: &str| at.get(s).copied();
    let pair = |e: &'a Edge| Some((find(&e.from)?, find(&e.to)?, e));
    edges.iter().filter_map(pair).collect()
}

/// Text for XML content and attribute values; control characters become spaces.
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

/// At most `max` characters, cut with an ellipsis.
fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    s.chars().take(max - 1).chain(['…']).collect()
}

fn len(s: &str) -> i64 {
    s.chars().count() as i64
}

const H: i64 = 46; // box height
const GAP_X: i64 = 44;
const NAME_CHARS: usize = 26;
const LABEL_CHARS: usize = 30;
const INK: &str = "#344054";
const PLAIN: &str = r##"fill="#ffffff" stroke="#344054" stroke-width="1.2""##;
const START: &str = r##"fill="#eef4ff" stroke="#1f5fd1" stroke-width="2.5""##;
const UNREACHABLE: &str =
    r##"fill="#fff1f0" stroke="#b42318" stroke-width="1.5" stroke-dasharray="6 4""##;

fn kind_line(n: &Node) -> String {
    match &n.exit {
        Some(x) => format!("{} → {}", n.kind, short(x, NAME_CHARS)),
        None => n.kind.to_owned(),
    }
}

/// Where the curve `M ax,ay C ax,m bx,m bx,by` (m halfway down) is at height `y`.
fn x_at((ax, ay): (i64, i64), (bx, by): (i64, i64), y: i64) -> i64 {
    let want = (y - ay) as f64 / (by - ay) as f64;
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..40 {
        let (t, u) = ((lo + hi) / 2.0, 1.0 - (lo + hi) / 2.0);
        let below = 1.5 * u * t * (u + t) + t * t * t < want; // y(t), a fraction of the drop
        (lo, hi) = if below { (t, hi) } else { (lo, t) };
    }
    ax + ((bx - ax) as f64 * (3.0 * (1.0 - lo) * lo * lo + lo * lo * lo)).round() as i64
}

/// A path through points joined by straight runs, its corners rounded.
fn rounded(p: &[(i64, i64)]) -> String {
    let mut d = format!("M{},{}", p[0].0, p[0].1);
    for w in p.windows(3) {
        let ((ax, ay), (cx, cy), (bx, by)) = (w[0], w[1], w[2]);
        let r = 8
            .min((cx - ax).abs() + (cy - ay).abs())
            .min((bx - cx).abs() + (by - cy).abs())
            / 2;
        let (ix, iy) = (cx + (ax - cx).signum() * r, cy + (ay - cy).signum() * r);
        let (ox, oy) = (cx + (bx - cx).signum() * r, cy + (by - cy).signum() * r);
        let _ = write!(d, " L{ix},{iy} Q{cx},{cy} {ox},{oy}");
    }
    let (x, y) = p[p.len() - 1];
    d + &format!(" L{x},{y}")
}

/// The graph drawn top to bottom, one row per layer. An edge down to the next row is a
/// curve, labelled in the gap under its source (a source's labels one under the other);
/// an edge to the same or an earlier row leaves the top of its source, runs round the
/// side of the drawing nearest the source, each in a lane further out, and enters its
/// target from below; an edge from a step to itself is a loop on the step's right.
pub fn svg(g: &Graph) -> String {
    let known = ends(&g.nodes, &g.edges);
    let mut at = Layout::of(g, &known);
    let mut body = String::new();
    draw_edges(&mut at, &known, &mut body);
    draw_nodes(g, &at, &mut body);
    let b = at.bounds;
    let (vx, vy, vw, vh) = (b[0] - 16, b[1] - 16, b[2] - b[0] + 32, b[3] - b[1] + 32);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"flow-graph\" role=\"img\" aria-label=\"{}\" \
         width=\"{vw}\" height=\"{vh}\" viewBox=\"{vx} {vy} {vw} {vh}\" font-family=\"system-ui, sans-serif\">\
         <defs><marker id=\"flow-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{INK}\"/></marker></defs>\
         {body}</svg>",
        xml(&aria_label(g))
    )
}

/// Where the boxes sit: each node's row, position and width, the room right of it for
/// its loops, its count of edges down, and the drawing's bounds so far.
struct Layout {
    row: Vec<usize>,
    rows: Vec<Vec<usize>>,
    x: Vec<i64>,
    y: Vec<i64>,
    w: Vec<i64>,
    room: Vec<i64>,
    downs: Vec<i64>,
    /// The widest row's width.
    inner: i64,
    /// Left, top, right, bottom.
    bounds: [i64; 4],
}

impl Layout {
    fn of(g: &Graph, known: &[(usize, usize, &Edge)]) -> Layout {
        let n = g.nodes.len();
        let (depth, found) = layers(&g.nodes, &g.edges);
        let last = depth.iter().flatten().max().map_or(0, |d| d + 1);
        let row: Vec<usize> = depth.iter().map(|d| d.unwrap_or(last)).collect();
        let mut rows = vec![Vec::new(); last + 1];
        let lost: Vec<usize> = (0..n).filter(|&i| depth[i].is_none()).collect();
        for &i in found.iter().chain(&lost) {
            rows[row[i]].push(i);
        }
        // Box widths, room right of a box for its loops, and the band under each row that
        // holds the labels of its edges down (the runs of edges back pass under it).
        let name_w = |d: &Node| len(&short(&d.id, NAME_CHARS)).max(len(&kind_line(d))) * 7 + 24;
        let w: Vec<i64> = g.nodes.iter().map(|d| name_w(d).max(96)).collect();
        let (mut room, mut downs) = (vec![0i64; n], vec![0i64; n]);
        for &(a, b, e) in known {
            if a == b {
                room[a] = room[a].max(50 + len(&short(&e.label, LABEL_CHARS)) * 6);
            } else if row[b] > row[a] {
                downs[a] += 1;
            }
        }
        let mut at = Layout {
            row,
            rows,
            x: vec![0i64; n],
            y: vec![0i64; n],
            w,
            room,
            downs,
            inner: 0,
            bounds: [0; 4],
        };
        at.inner = at.rows.iter().map(|r| at.row_w(r)).max().unwrap_or(0);
        at.bounds = [0, 0, at.inner, 0];
        at.place();
        at
    }

    /// Each row centred on the widest, one under the other with room for its band.
    fn place(&mut self) {
        let mut top = 0;
        for r in 0..self.rows.len() {
            let mut left = (self.inner - self.row_w(&self.rows[r])) / 2;
            for k in 0..self.rows[r].len() {
                let i = self.rows[r][k];
                (self.x[i], self.y[i]) = (left, top);
                left += self.w[i] + self.room[i] + GAP_X;
                self.grow(left - GAP_X, top + H);
            }
            top += H + (self.band(r) + 44).max(80);
        }
    }

    /// The height of the band under row `r` for the labels of its edges down.
    fn band(&self, r: usize) -> i64 {
        10 + 15
            * self.rows[r]
                .iter()
                .map(|&i| self.downs[i])
                .max()
                .unwrap_or(0)
    }

    fn row_w(&self, r: &[usize]) -> i64 {
        r.iter()
            .map(|&i| self.w[i] + self.room[i] + GAP_X)
            .sum::<i64>()
            - GAP_X
    }

    fn grow(&mut self, x: i64, y: i64) {
        let b = self.bounds;
        self.bounds = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
}

/// One edge's drawing: its class, path, and where its label goes.
struct Shape {
    class: &'static str,
    d: String,
    lx: i64,
    ly: i64,
    anchor: &'static str,
}

/// Every edge, as a path and its label, appended to `body`.
fn draw_edges(at: &mut Layout, known: &[(usize, usize, &Edge)], body: &mut String) {
    let n = at.row.len();
    let mut pairs: HashMap<(usize, usize), (i64, i64)> = HashMap::new();
    known
        .iter()
        .for_each(|&(a, t, _)| pairs.entry((a, t)).or_default().1 += 1);
    let (mut nth_down, mut lanes) = (vec![0i64; n], [0i64; 2]);
    for &(a, t, e) in known {
        let slot = pairs.get_mut(&(a, t)).expect("counted");
        let (k, spread) = (slot.0, 2 * slot.0 - (slot.1 - 1)); // spread: …, -2, 0, 2, …
        slot.0 += 1;
        let text = short(&e.label, LABEL_CHARS);
        let Shape {
            class,
            d,
            lx,
            ly,
            anchor,
        } = if a == t {
            loop_edge(at, a, k, spread)
        } else if at.row[t] > at.row[a] {
            down_edge(at, a, t, spread, &mut nth_down)
        } else {
            back_edge(at, a, t, k, spread, &mut lanes)
        };
        let lw = len(&text) * 6;
        let left = match anchor {
            "start" => lx,
            "end" => lx - lw,
            _ => lx - lw / 2,
        };
        at.grow(left, ly - 12);
        at.grow(left + lw, ly + 4);
        let (from, to, full, text) = (xml(&e.from), xml(&e.to), xml(&e.label), xml(&text));
        let _ = write!(
            body,
            "<g class=\"{class}\"><title>{from} → {to}: {full}</title><path d=\"{d}\" fill=\"none\" \
             stroke=\"{INK}\" stroke-width=\"1.4\" marker-end=\"url(#flow-arrow)\"/><text class=\"label\" \
             x=\"{lx}\" y=\"{ly}\" text-anchor=\"{anchor}\" font-size=\"11\" fill=\"#101828\" \
             stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{text}</text></g>"
        );
    }
}

/// An edge from step `a` to itself: a loop on the box's right, the `k`-th further out.
fn loop_edge(at: &mut Layout, a: usize, k: i64, spread: i64) -> Shape {
    let (x, y, w) = (&at.x, &at.y, &at.w);
    let (r, hi, lo) = (x[a] + w[a], y[a] + 10, y[a] + H - 10);
    let far = r + 34 + 10 * k;
    let d = format!("M{r},{hi} C{far},{} {far},{} {r},{lo}", hi - 16, lo + 16);
    let (lx, ly) = (r + (far - r) * 3 / 4 + 6, y[a] + H / 2 + 4 + spread * 7);
    at.grow(far, hi - 16);
    Shape {
        class: "edge loop",
        d,
        lx,
        ly,
        anchor: "start",
    }
}

/// An edge down to a later row: a curve, labelled in the band under its source.
fn down_edge(at: &Layout, a: usize, t: usize, spread: i64, nth_down: &mut [i64]) -> Shape {
    let (x, y, w) = (&at.x, &at.y, &at.w);
    let from = (x[a] + w[a] / 2 + spread * 8, y[a] + H);
    let to = (x[t] + w[t] / 2 + spread * 8, y[t]);
    let m = (from.1 + to.1) / 2;
    let d = format!("M{},{} C{0},{m} {},{m} {2},{}", from.0, from.1, to.0, to.1);
    let ly = from.1 + 16 + 15 * nth_down[a];
    nth_down[a] += 1;
    Shape {
        class: "edge",
        d,
        lx: x_at(from, to, ly - 4),
        ly,
        anchor: "middle",
    }
}

/// An edge to the same or an earlier row: round the side nearest its source, in a lane
/// further out than the ones before it on that side.
fn back_edge(
    at: &mut Layout,
    a: usize,
    t: usize,
    k: i64,
    spread: i64,
    lanes: &mut [i64; 2],
) -> Shape {
    let (n, inner) = (at.row.len(), at.inner);
    let (x, y, w, row, room) = (&at.x, &at.y, &at.w, &at.row, &at.room);
    let right = 2 * x[a] + w[a] >= inner;
    let (side, nth) = (if right { 1 } else { -1 }, lanes[right as usize]);
    lanes[right as usize] += 1;
    let span = (0..n).filter(|&i| row[i] >= row[t] && row[i] <= row[a]);
    let edge = match right {
        true => span.map(|i| x[i] + w[i] + room[i]).max().unwrap_or(inner),
        false => span.map(|i| x[i]).min().unwrap_or(0),
    };
    let lane = edge + side * (18 + 14 * (nth % 8));
    let sx = x[a] + w[a] / 2 + side * w[a] / 4;
    let tx = x[t] + w[t] / 2 + side * (w[t] / 4 + spread * 6);
    let (sy, ty) = (y[a], y[t] + H);
    let (up, down) = (
        sy - 12 - 4 * (k % 4),
        ty + at.band(row[t]) + 4 + 4 * (k % 4),
    );
    let d = rounded(&[
        (sx, sy),
        (sx, up),
        (lane, up),
        (lane, down),
        (tx, down),
        (tx, ty),
    ]);
    let (lx, ly) = (lane + side * 5, (up + down) / 2 + 4 + 15 * (nth % 3));
    at.grow(lane, up);
    at.grow(lane, down);
    Shape {
        class: "edge back",
        d,
        lx,
        ly,
        anchor: if right { "start" } else { "end" },
    }
}

/// Every node, as a box with its name and kind, appended to `body`.
fn draw_nodes(g: &Graph, at: &Layout, body: &mut String) {
    for (i, d) in g.nodes.iter().enumerate() {
        let (class, note, look) = match (d.start, d.unreachable) {
            (true, _) => ("node start", ", start", START),
            (_, true) => ("node unreachable", ", unreachable", UNREACHABLE),
            _ => ("node", "", PLAIN),
        };
        let (id, kind, name) = (
            xml(&d.id),
            xml(&kind_line(d)),
            xml(&short(&d.id, NAME_CHARS)),
        );
        let (x, y, w, cx) = (at.x[i], at.y[i], at.w[i], at.x[i] + at.w[i] / 2);
        let leaves = matches!(d.kind, "handoff" | "resolve" | "goto");
        let (rx, weight) = (
            if leaves { H / 2 } else { 6 },
            if d.start { 700 } else { 500 },
        );
        let _ = write!(
            body,
            "<g class=\"{class}\"><title>{id} ({kind}){note}</title><rect x=\"{x}\" y=\"{y}\" \
             width=\"{w}\" height=\"{H}\" rx=\"{rx}\" {look}/><text x=\"{cx}\" y=\"{}\" text-anchor=\"middle\" \
             font-size=\"13\" font-weight=\"{weight}\" fill=\"#101828\">{name}</text><text x=\"{cx}\" \
             y=\"{}\" text-anchor=\"middle\" font-size=\"11\" fill=\"{INK}\">{kind}</text></g>",
            y + 19,
            y + 36
        );
    }
}

/// The drawing's text for screen readers: the counts, the start, the unreachable steps.
fn aria_label(g: &Graph) -> String {
    let n = g.nodes.len();
    let start = g.nodes.iter().find(|d| d.start).map_or("none", |d| &d.id);
    let lost: Vec<&str> = g
        .nodes
        .iter()
        .filter(|d| d.unreachable)
        .map(|d| &*d.id)
        .collect();
    let mut aria = format!(
        "Flow: {n} steps, {} transitions, start {start}",
        g.edges.len()
    );
    if !lost.is_empty() {
        let _ = write!(aria, "; unreachable: {}", lost.join(", "));
    }
    aria
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flow as parsed, before the workspace checks (which refuse unreachable steps).
    fn parsed(src: &str) -> Flow {
        let mut d = crate::diag::Diags::new("flows/g.yaml");
        let f = crate::parse::flow(src, &mut d).filter(|_| !d.has_errors());
        f.unwrap_or_else(|| panic!("{:#?}", d.items))
    }

    fn edges(g: &Graph) -> Vec<String> {
        g.edges
            .iter()
            .map(|e| format!("{} > {}: {}", e.from, e.to, e.label))
            .collect()
    }

    const SUPPORT: &str = r#"flow: support
language: fr
start: triage
steps:
  triage: { branch: [{ when: "contact.tier == 'vip'", next: agent }], next: welcome }
  welcome:
    say: { text: "Bonjour", buttons: [{ id: track, title: { fr: Suivi, en: Track } }, "FAQ"] }
    next: menu
  menu:
    ask:
      routes:
        - { match: { button: track }, next: lookup }
        - { match: { button: FAQ }, next: faq }
        - { match: { keywords: [commande, colis] }, next: lookup }
        - { match: { intent: talk_to_agent }, next: agent }
        - { match: { when: "attempts > 2" }, next: agent }
      else: menu
      timeout: 10m
      on_timeout: bye
  lookup: { http: { method: GET, url: "https://x.test/o", on_error: agent }, next: pause }
  pause: { wait: 90s, next: bye }
  faq: { answer: { on_no_answer: agent } }
  agent: { handoff: { team: support } }
  bye: { resolve: {} }
  later: { goto: billing#start }
"#;

    #[test]
    fn one_node_per_step_in_file_order_with_the_start_marked() {
        let g = of(&parsed(SUPPORT));
        let nodes: Vec<String> = g
            .nodes
            .iter()
            .map(|n| format!("{}: {}", n.id, kind_line(n)))
            .collect();
        let want = "triage: branch, welcome: say, menu: ask, lookup: http, pause: wait, faq: answer, \
                    agent: handoff → team support, bye: resolve, later: goto → billing#start";
        assert_eq!(nodes.join(", "), want);
        let starts: Vec<&str> = g.nodes.iter().filter(|n| n.start).map(|n| &*n.id).collect();
        assert_eq!(starts, ["triage"]);
    }

    #[test]
    fn every_field_naming_a_step_is_an_edge_labelled_with_that_field() {
        let g = of(&parsed(SUPPORT));
        let want = [
            "triage > agent: when: contact.tier == 'vip'",
            "triage > welcome: next",
            "welcome > menu: next",
            "menu > lookup: button: track (Suivi)",
            "menu > faq: button: FAQ",
            "menu > lookup: keywords: commande, colis",
            "menu > agent: intent: talk_to_agent",
            "menu > agent: when: attempts > 2",
            "menu > menu: else",
            "menu > bye: on_timeout (10m)",
            "lookup > agent: on_error",
            "lookup > pause: next",
            "pause > bye: next (after 1m30s)",
            "faq > agent: on_no_answer",
        ];
        assert_eq!(edges(&g), want);
    }

    #[test]
    fn a_step_no_path_reaches_is_flagged_and_drawn_in_the_last_row() {
        let g = of(&parsed(SUPPORT));
        let lost: Vec<&str> = g
            .nodes
            .iter()
            .filter(|n| n.unreachable)
            .map(|n| &*n.id)
            .collect();
        assert_eq!(lost, ["later"]);
        let svg = svg(&g);
        assert_eq!(svg.matches("<g class=\"node unreachable\">").count(), 1);
        let top = |id: &str| -> i64 {
            let rect = &svg[svg.find(&format!("<title>{id} (")).unwrap()..];
            let y = &rect[rect.find(" y=\"").unwrap() + 4..];
            y[..y.find('"').unwrap()].parse().unwrap()
        };
        assert!(
            g.nodes
                .iter()
                .filter(|n| !n.unreachable)
                .all(|n| top(&n.id) < top("later"))
        );
        assert!(
            svg.contains("; unreachable: later\""),
            "the aria-label names it"
        );
    }

    #[test]
    fn names_and_labels_are_escaped() {
        let g = of(&parsed(
            "flow: t\nstart: \"a<&\\\"b'\"\nsteps:\n  \"a<&\\\"b'\":\n    ask:\n      routes:\n        \
             - { match: { keywords: [\"<&\\\">\"] }, next: done }\n  done:\n    resolve: {}\n",
        ));
        assert_eq!(edges(&g), ["a<&\"b' > done: keywords: <&\">"]);
        let svg = svg(&g);
        assert!(svg.contains(">a&lt;&amp;&quot;b&#39;</text>"), "{svg}");
        assert!(
            svg.contains(">keywords: &lt;&amp;&quot;&gt;</text>"),
            "{svg}"
        );
        assert!(!svg.contains("a<&") && !svg.contains("<&\""));
        assert!(!svg.contains("style") && !svg.contains("script"));
    }

    #[test]
    fn one_group_per_step_and_the_same_bytes_every_time() {
        let f = parsed(SUPPORT);
        let svg = svg(&of(&f));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(
            svg.ends_with("</svg>") && svg.contains(" role=\"img\" aria-label=\"Flow: 9 steps")
        );
        assert_eq!(svg.matches("<g class=\"node").count(), f.steps.len());
        assert_eq!(
            svg.matches("<g class=\"node start\"><title>triage (branch)")
                .count(),
            1
        );
        assert_eq!(svg.matches("<g class=\"edge").count(), 14);
        assert_eq!(svg.matches("<text class=\"label\"").count(), 14);
        assert_eq!(super::svg(&of(&parsed(SUPPORT))), svg);
    }

    #[test]
    fn a_cycle_ends_and_its_back_edges_go_round_the_side() {
        let src = "flow: t\nstart: a\nsteps:\n  a: { say: one, next: b }\n  b:\n    ask:\n      routes:\n        \
                   - { match: { keywords: [again] }, next: a }\n        - { match: { keywords: [stay] }, next: b }\n      \
                   else: c\n  c: { say: three, next: a }\n  gone: { say: never, next: nowhere }\n";
        let g = of(&parsed(src));
        assert_eq!(
            edges(&g).len(),
            5,
            "the unknown step draws no edge: {:?}",
            edges(&g)
        );
        assert!(g.nodes.iter().all(|n| n.unreachable == (n.id == "gone")));
        let svg = svg(&g);
        assert_eq!(svg.matches("<g class=\"edge\">").count(), 2, "a > b, b > c");
        assert_eq!(
            svg.matches("<g class=\"edge back\">").count(),
            2,
            "b > a, c > a"
        );
        assert_eq!(svg.matches("<g class=\"edge loop\">").count(), 1, "b > b");
    }

    #[test]
    fn an_empty_graph_still_draws() {
        let svg = svg(&Graph::default());
        assert!(svg.contains("Flow: 0 steps, 0 transitions, start none\""));
    }
}
