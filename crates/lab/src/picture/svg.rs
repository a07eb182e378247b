//! The SVG of a lab, and the HTML page that carries it with its own style and script (no
//! fetches: it opens on an offline machine, from a file).

use super::layout::node_size;
use super::{impair_words, link_id, LinkLook, Picture, LABELS_UP_TO};
use crate::plan::{Interface, LinkPlan, NodePlan};
use crate::values::{Kind, Word};
use std::collections::HashMap;
use std::fmt::Write;

type Pt = (f64, f64);

/// Text made safe for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = r#"
.nsnet-graph { font: 12px "DejaVu Sans Mono", ui-monospace, monospace; background: #fff; }
.nsnet-graph .wire { stroke: #5b6b7b; stroke-width: 2; fill: none; }
.nsnet-graph text { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.nsnet-graph .end { fill: #263040; font-size: 10.5px; }
.nsnet-graph .end.port { fill: #8a94a0; }
.nsnet-graph .link.impaired .wire { stroke: #d98c00; stroke-width: 3.5; }
.nsnet-graph .impair { fill: #9a5f00; font-size: 10.5px; text-anchor: middle; font-weight: 600; }
.nsnet-graph .link.down .wire, .nsnet-graph .link.end-down .wire,
.nsnet-graph .link.no-carrier .wire { stroke: #d0342c; stroke-dasharray: 8 5; }
.nsnet-graph .link.unknown .wire { stroke: #a0a0a0; stroke-dasharray: 2 4; }
.nsnet-graph .mark circle { fill: #fff; stroke: #d0342c; stroke-width: 2; }
.nsnet-graph .mark path { stroke: #d0342c; stroke-width: 2.5; }
.nsnet-graph .link:hover .wire, .nsnet-graph .link.hl .wire { stroke-width: 5; }
.nsnet-graph .shape { stroke: #223; stroke-width: 1.5; }
.nsnet-graph .host .shape { fill: #dcebfb; }
.nsnet-graph .router .shape { fill: #ffe1b3; }
.nsnet-graph .switch .shape { fill: #4a5563; }
.nsnet-graph .name { text-anchor: middle; dominant-baseline: central; fill: #111a22; font-weight: 600; stroke: none; }
.nsnet-graph .subnet { fill: #556070; font-size: 10px; text-anchor: middle; }
.nsnet-graph .node.dead .shape { fill: #ececec; stroke: #999; stroke-dasharray: 4 3; }
.nsnet-graph .node.dead .name { fill: #6b6b6b; stroke: #ececec; stroke-width: 4px; }
.nsnet-graph .node.dead .cross { stroke: #d0342c; stroke-width: 2.5; }
.nsnet-graph .node:hover .shape { stroke-width: 3; }
"#;

fn unit(from: Pt, to: Pt) -> Pt {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len < 1e-9 {
        (1.0, 0.0)
    } else {
        (dx / len, dy / len)
    }
}

/// Where a ray from a box's centre along `u` leaves the box.
fn boundary(c: Pt, size: Pt, u: Pt) -> Pt {
    let tx = if u.0.abs() > 1e-9 {
        size.0 / 2.0 / u.0.abs()
    } else {
        f64::INFINITY
    };
    let ty = if u.1.abs() > 1e-9 {
        size.1 / 2.0 / u.1.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty);
    (c.0 + u.0 * t, c.1 + u.1 * t)
}

fn cubic(p: &[Pt], t: f64) -> Pt {
    let m = 1.0 - t;
    let (a, b, c, d) = (m * m * m, 3.0 * m * m * t, 3.0 * m * t * t, t * t * t);
    (
        a * p[0].0 + b * p[1].0 + c * p[2].0 + d * p[3].0,
        a * p[0].1 + b * p[1].1 + c * p[2].1 + d * p[3].1,
    )
}

/// A link's drawn path: its `d`, each end's anchor and direction, and its middle.
struct Path {
    d: String,
    a: (Pt, Pt),
    b: (Pt, Pt),
    mid: Pt,
}

/// Where each link meets a switch's bar: a port point of its own on the side facing the
/// link's other node, ordered along the bar as those nodes are, so ports do not pile up.
type Ports = HashMap<(usize, bool), Pt>;

fn switch_ports(p: &Picture<'_>) -> Ports {
    let plan = p.plan;
    let mut by_switch: HashMap<usize, Vec<(usize, bool, usize)>> = HashMap::new();
    for (li, l) in plan.links.iter().enumerate() {
        let (ai, bi) = (index(p, &l.a.node), index(p, &l.b.node));
        for (me, other, is_b) in [(ai, bi, false), (bi, ai, true)] {
            if plan.nodes[me].kind == Kind::Switch {
                by_switch.entry(me).or_default().push((li, is_b, other));
            }
        }
    }
    let mut ports = Ports::new();
    for (si, list) in by_switch {
        let (sx, sy) = p.layout.nodes[si];
        let (w, h) = node_size(plan, si);
        for left in [true, false] {
            let mut side: Vec<(usize, bool, f64)> = list
                .iter()
                .filter(|(_, _, o)| (p.layout.nodes[*o].0 < sx) == left)
                .map(|&(li, is_b, o)| (li, is_b, p.layout.nodes[o].1))
                .collect();
            side.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
            let n = side.len() as f64;
            for (k, (li, is_b, _)) in side.into_iter().enumerate() {
                let y = sy - h / 2.0 + (k as f64 + 1.0) * h / (n + 1.0);
                let x = if left { sx - w / 2.0 } else { sx + w / 2.0 };
                ports.insert((li, is_b), (x, y));
            }
        }
    }
    ports
}

fn index(p: &Picture<'_>, node: &str) -> usize {
    p.plan.node_index(node).expect("planned node")
}

fn path(p: &Picture<'_>, li: usize, (ai, bi): (usize, usize), bend: f64, ports: &Ports) -> Path {
    let pts = &p.layout.edges[li];
    let (port_a, port_b) = (ports.get(&(li, false)), ports.get(&(li, true)));
    if pts.len() >= 4 && port_a.is_none() && port_b.is_none() {
        let mut d = format!("M{:.1},{:.1}", pts[0].0, pts[0].1);
        for seg in pts[1..].chunks(3) {
            if let [c1, c2, e] = seg {
                let _ = write!(
                    d,
                    " C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    c1.0, c1.1, c2.0, c2.1, e.0, e.1
                );
            }
        }
        let n = pts.len() - 1;
        let segs = n / 3;
        let s = segs / 2;
        let t = if segs % 2 == 1 { 0.5 } else { 0.0 };
        return Path {
            d,
            a: (pts[0], unit(pts[0], pts[1])),
            b: (pts[n], unit(pts[n], pts[n - 1])),
            mid: cubic(&pts[3 * s..3 * s + 4], t),
        };
    }
    // The two ends' targets: a switch's port, another node's centre.
    let ca = port_a.copied().unwrap_or(p.layout.nodes[ai]);
    let cb = port_b.copied().unwrap_or(p.layout.nodes[bi]);
    let u = unit(ca, cb);
    // Parallel links bow apart: a quadratic through a control point off the middle.
    let normal = (-u.1, u.0);
    let mid = ((ca.0 + cb.0) / 2.0, (ca.1 + cb.1) / 2.0);
    let ctrl = (mid.0 + normal.0 * bend * 2.0, mid.1 + normal.1 * bend * 2.0);
    let ua = unit(ca, ctrl);
    let ub = unit(cb, ctrl);
    let pa = match port_a {
        Some(&pt) => pt,
        None => boundary(ca, node_size(p.plan, ai), ua),
    };
    let pb = match port_b {
        Some(&pt) => pt,
        None => boundary(cb, node_size(p.plan, bi), ub),
    };
    let d = if bend == 0.0 {
        format!("M{:.1},{:.1} L{:.1},{:.1}", pa.0, pa.1, pb.0, pb.1)
    } else {
        format!(
            "M{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}",
            pa.0, pa.1, ctrl.0, ctrl.1, pb.0, pb.1
        )
    };
    Path {
        d,
        a: (pa, ua),
        b: (pb, ub),
        mid: (mid.0 + normal.0 * bend, mid.1 + normal.1 * bend),
    }
}

/// An end's label near `anchor`, set off along the link: the first end's above the line
/// (or right of it), the second's below (or left), so the two never meet.
fn end_label(o: &mut String, (at, u): (Pt, Pt), text: &str, port: bool, second: bool) {
    let q = (at.0 + u.0 * 6.0, at.1 + u.1 * 6.0);
    let (anchor, x, y) = if u.0.abs() >= 0.35 {
        let anchor = if u.0 > 0.0 { "start" } else { "end" };
        (anchor, q.0, if second { q.1 + 13.0 } else { q.1 - 5.0 })
    } else {
        let dy = if u.1 > 0.0 { 10.0 } else { -2.0 };
        if second {
            ("end", q.0 - 5.0, q.1 + dy)
        } else {
            ("start", q.0 + 5.0, q.1 + dy)
        }
    };
    let class = if port { "end port" } else { "end" };
    let _ = write!(
        o,
        r#"<text class="{class}" x="{x:.1}" y="{y:.1}" text-anchor="{anchor}">{}</text>"#,
        esc(text)
    );
}

fn iface_text(node: &NodePlan, i: Option<&Interface>, name: &str) -> String {
    let addrs: Vec<String> = i
        .map(|i| i.addrs.iter().map(|a| a.to_string()).collect())
        .unwrap_or_default();
    if node.kind == Kind::Switch || addrs.is_empty() {
        name.to_string()
    } else {
        format!("{name} {}", addrs.join(" "))
    }
}

fn link_svg(o: &mut String, p: &Picture<'_>, li: usize, l: &LinkPlan, bend: f64, ports: &Ports) {
    let plan = p.plan;
    let (ai, bi) = (index(p, &l.a.node), index(p, &l.b.node));
    let (na, nb) = (&plan.nodes[ai], &plan.nodes[bi]);
    let ta = iface_text(na, na.interface(&l.a.iface), &l.a.iface);
    let tb = iface_text(nb, nb.interface(&l.b.iface), &l.b.iface);
    let live = p.live.and_then(|v| v.links.get(li));
    let state = live.map_or("planned", |v| v.look.word());
    let imp = live.map_or([l.impair, l.impair], |v| v.impair);
    let impair = impair_words(l, &imp);
    let mut class = format!("link {state}");
    if !impair.is_empty() {
        class.push_str(" impaired");
    }
    let id = link_id(l);
    let _ = write!(
        o,
        r#"<g class="{class}" id="link-{li}" data-link="{}" data-a="{}" data-b="{}" data-state="{state}""#,
        esc(&id),
        esc(&l.a.to_string()),
        esc(&l.b.to_string()),
    );
    if !impair.is_empty() {
        let _ = write!(o, r#" data-impair="{}""#, esc(&impair));
    }
    let mut title = format!("{}:{ta} — {}:{tb}: {state}", l.a.node, l.b.node);
    if !impair.is_empty() {
        title.push_str(&format!("; {impair}"));
    }
    let _ = write!(o, "><title>{}</title>", esc(&title));
    let path = path(p, li, (ai, bi), bend, ports);
    let _ = write!(o, r#"<path class="wire" d="{}"/>"#, path.d);
    if plan.nodes.len() <= LABELS_UP_TO {
        end_label(o, path.a, &ta, na.kind == Kind::Switch, false);
        end_label(o, path.b, &tb, nb.kind == Kind::Switch, true);
    }
    let (mx, my) = path.mid;
    if !impair.is_empty() {
        let _ = write!(
            o,
            r#"<text class="impair" x="{mx:.1}" y="{:.1}">{}</text>"#,
            my + 22.0,
            esc(&impair)
        );
    }
    if live.is_some_and(|v| v.look.is_down()) {
        let _ = write!(
            o,
            r#"<g class="mark" transform="translate({mx:.1},{my:.1})"><circle r="9"/><path d="M-4,-4 L4,4 M4,-4 L-4,4"/></g>"#
        );
    }
    o.push_str("</g>\n");
}

fn node_svg(o: &mut String, p: &Picture<'_>, i: usize) {
    let n = &p.plan.nodes[i];
    let (x, y) = p.layout.nodes[i];
    let (w, h) = node_size(p.plan, i);
    let dead = p.live.is_some_and(|v| v.dead.contains(&n.name));
    let state = match p.live {
        None => "planned",
        Some(_) if dead => "dead",
        Some(_) => "up",
    };
    let kind = n.kind.word();
    let _ = write!(
        o,
        r#"<g class="node {kind}{}" id="node-{}" data-node="{}" data-kind="{kind}" data-state="{state}">"#,
        if dead { " dead" } else { "" },
        esc(&n.name),
        esc(&n.name),
    );
    let addrs: Vec<String> = n
        .interfaces
        .iter()
        .filter(|i| !i.addrs.is_empty())
        .map(|i| {
            let a: Vec<String> = i.addrs.iter().map(|a| a.to_string()).collect();
            format!("{} {}", i.name, a.join(" "))
        })
        .collect();
    let mut title = format!("{} ({kind}, {state})", n.name);
    if !addrs.is_empty() {
        title.push_str(&format!(": {}", addrs.join(", ")));
    }
    let _ = write!(o, "<title>{}</title>", esc(&title));
    let (l, t) = (x - w / 2.0, y - h / 2.0);
    match n.kind {
        Kind::Host => {
            let _ = write!(
                o,
                r#"<rect class="shape" x="{l:.1}" y="{t:.1}" width="{w:.1}" height="{h:.1}" rx="3"/>"#
            );
        }
        Kind::Router => {
            let _ = write!(
                o,
                r#"<ellipse class="shape" cx="{x:.1}" cy="{y:.1}" rx="{:.1}" ry="{:.1}"/>"#,
                w / 2.0,
                h / 2.0
            );
        }
        Kind::Switch => {
            let _ = write!(
                o,
                r#"<rect class="shape" x="{l:.1}" y="{t:.1}" width="{w:.1}" height="{h:.1}" rx="4"/>"#
            );
        }
    }
    if dead {
        let (r, b) = (x + w / 2.0, y + h / 2.0);
        let _ = write!(
            o,
            r#"<path class="cross" d="M{l:.1},{t:.1} L{r:.1},{b:.1} M{r:.1},{t:.1} L{l:.1},{b:.1}"/>"#
        );
    }
    if n.kind == Kind::Switch {
        let _ = write!(
            o,
            r#"<text class="name" x="{x:.1}" y="{:.1}">{}</text>"#,
            t - 10.0,
            esc(&n.name)
        );
        let subnets: Vec<String> = n
            .interfaces
            .first()
            .map(|i| &p.plan.segments[i.segment])
            .map(|s| {
                [s.subnet4, s.subnet6]
                    .iter()
                    .flatten()
                    .map(|c| c.to_string())
                    .collect()
            })
            .unwrap_or_default();
        for (k, s) in subnets.iter().enumerate() {
            let _ = write!(
                o,
                r#"<text class="subnet" x="{x:.1}" y="{:.1}">{}</text>"#,
                t + h + 14.0 + 12.0 * k as f64,
                esc(s)
            );
        }
    } else {
        let _ = write!(
            o,
            r#"<text class="name" x="{x:.1}" y="{y:.1}">{}</text>"#,
            esc(&n.name)
        );
    }
    o.push_str("</g>\n");
}

/// The drawing alone; `standalone` adds the XML namespace a file needs (inline in HTML it
/// is implied).
fn drawing(p: &Picture<'_>, standalone: bool) -> String {
    let plan = p.plan;
    let (w, h) = (p.layout.width.ceil(), p.layout.height.ceil());
    let mut o = String::with_capacity(600 * (plan.nodes.len() + plan.links.len()) + 4096);
    let ns = if standalone {
        r#" xmlns="http://www.w3.org/2000/svg""#
    } else {
        ""
    };
    let _ = writeln!(
        o,
        r#"<svg{ns} class="nsnet-graph" viewBox="0 0 {w} {h}" width="{w}" height="{h}" data-lab="{}" data-live="{}" data-layout="{}" role="img" aria-label="lab {}">"#,
        esc(&plan.lab),
        p.live.is_some(),
        esc(&p.layout.engine),
        esc(&plan.lab),
    );
    let _ = writeln!(o, "<style>{STYLE}</style>");
    let _ = writeln!(
        o,
        r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##
    );
    o.push_str("<g class=\"links\">\n");
    // Parallel links between the same two nodes are bowed apart.
    let mut pairs: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (li, l) in plan.links.iter().enumerate() {
        let key = if l.a.node <= l.b.node {
            (l.a.node.as_str(), l.b.node.as_str())
        } else {
            (l.b.node.as_str(), l.a.node.as_str())
        };
        pairs.entry(key).or_default().push(li);
    }
    let mut bend = vec![0.0; plan.links.len()];
    for group in pairs.values().filter(|g| g.len() > 1) {
        let k = group.len() as f64;
        for (j, &li) in group.iter().enumerate() {
            let l = &plan.links[li];
            // Bends are measured from a → b: flip for links written the other way.
            let sign = if l.a.node <= l.b.node { 1.0 } else { -1.0 };
            bend[li] = (j as f64 - (k - 1.0) / 2.0) * 26.0 * sign;
        }
    }
    let ports = switch_ports(p);
    for (li, l) in plan.links.iter().enumerate() {
        link_svg(&mut o, p, li, l, bend[li], &ports);
    }
    o.push_str("</g>\n<g class=\"nodes\">\n");
    for i in 0..plan.nodes.len() {
        node_svg(&mut o, p, i);
    }
    o.push_str("</g>\n</svg>\n");
    o
}

/// The lab as an SVG document.
pub fn svg(p: &Picture<'_>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}",
        drawing(p, true)
    )
}

const PAGE_STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; font: 14px system-ui, "DejaVu Sans", sans-serif; color: #1d2530; background: #f4f6f8; }
header { padding: 10px 16px; background: #1f2937; color: #f3f4f6; display: flex; flex-wrap: wrap; gap: 4px 24px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
header .meta { color: #cbd5e1; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; }
.legend span::before { content: ""; display: inline-block; width: 18px; height: 10px; margin-right: 5px; vertical-align: middle; border-radius: 2px; }
.legend .l-host::before { background: #dcebfb; border: 1px solid #223; }
.legend .l-router::before { background: #ffe1b3; border: 1px solid #223; border-radius: 50%; }
.legend .l-switch::before { background: #4a5563; height: 6px; }
.legend .l-down::before { border-top: 3px dashed #d0342c; height: 0; }
.legend .l-impaired::before { border-top: 4px solid #d98c00; height: 0; }
.legend .l-dead::before { background: #ececec; border: 1px dashed #999; }
#view { height: calc(100vh - 120px); min-height: 360px; background: #fff; border-bottom: 1px solid #d5dbe1; overflow: hidden; cursor: grab; }
#view svg { width: 100%; height: 100%; display: block; user-select: none; }
#view.dragging { cursor: grabbing; }
.tables { padding: 8px 16px 24px; display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; background: #fff; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e3e7ec; }
th { background: #eef1f4; }
td.state-down, td.state-end-down, td.state-no-carrier, td.state-dead { color: #c22a22; font-weight: 600; }
td.state-up { color: #1f7a3a; }
summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.hint { color: #64748b; font-size: 12px; padding: 4px 16px; }
"#;

const PAGE_SCRIPT: &str = r#"
(function () {
  const view = document.getElementById('view');
  const svg = view.querySelector('svg.nsnet-graph');
  const vb = svg.viewBox.baseVal;
  const home = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  function set(x, y, w, h) { vb.x = x; vb.y = y; vb.width = w; vb.height = h; }
  view.addEventListener('wheel', function (e) {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    const k = e.deltaY < 0 ? 0.85 : 1 / 0.85;
    const s = Math.max(vb.width / r.width, vb.height / r.height);
    const px = vb.x + (e.clientX - r.left - (r.width - vb.width / s) / 2) * s;
    const py = vb.y + (e.clientY - r.top - (r.height - vb.height / s) / 2) * s;
    set(px - (px - vb.x) * k, py - (py - vb.y) * k, vb.width * k, vb.height * k);
  }, { passive: false });
  let drag = null;
  view.addEventListener('pointerdown', function (e) {
    drag = { x: e.clientX, y: e.clientY, vx: vb.x, vy: vb.y };
    view.classList.add('dragging');
  });
  window.addEventListener('pointerup', function () { drag = null; view.classList.remove('dragging'); });
  window.addEventListener('pointermove', function (e) {
    if (!drag) return;
    const r = svg.getBoundingClientRect();
    const s = Math.max(vb.width / r.width, vb.height / r.height);
    set(drag.vx - (e.clientX - drag.x) * s, drag.vy - (e.clientY - drag.y) * s, vb.width, vb.height);
  });
  view.addEventListener('dblclick', function () { set(home.x, home.y, home.w, home.h); });
  // Hovering a node lights up its links.
  const links = Array.from(svg.querySelectorAll('[data-link]'));
  svg.querySelectorAll('[data-node]').forEach(function (g) {
    const name = g.dataset.node;
    const mine = links.filter(function (l) {
      return l.dataset.a.split(':')[0] === name || l.dataset.b.split(':')[0] === name;
    });
    g.addEventListener('mouseenter', function () { mine.forEach(function (l) { l.classList.add('hl'); }); });
    g.addEventListener('mouseleave', function () { mine.forEach(function (l) { l.classList.remove('hl'); }); });
  });
  // What the browser drew: every node with a box of its own, counted for readers.
  let drawn = 0;
  svg.querySelectorAll('[data-node]').forEach(function (g) {
    const b = g.getBBox();
    const ok = b.width > 0 && b.height > 0;
    g.setAttribute('data-rendered', ok ? '1' : '0');
    if (ok) drawn++;
  });
  const sum = document.getElementById('summary');
  sum.dataset.rendered = String(drawn);
  sum.dataset.downLinks = String(svg.querySelectorAll('.link.down, .link.end-down, .link.no-carrier').length);
  sum.dataset.deadNodes = String(svg.querySelectorAll('.node.dead').length);
  document.documentElement.setAttribute('data-ready', '1');
})();
"#;

/// The lab as a self-contained HTML page: the drawing (zoom with the wheel, drag to pan,
/// double-click to fit), a legend, and tables of links and nodes with their state.
pub fn html(p: &Picture<'_>) -> String {
    let plan = p.plan;
    let mut o = String::new();
    let title = format!("nsnet: lab {}", plan.lab);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    let down = p
        .live
        .map_or(0, |v| v.links.iter().filter(|l| l.look.is_down()).count());
    let dead = p.live.map_or(0, |v| v.dead.len());
    let when = match p.live {
        Some(v) => format!(
            "live state read at {}: {down} link(s) down, {dead} node(s) dead",
            v.read_at
        ),
        None => "as planned (the lab is not running)".to_string(),
    };
    let _ = writeln!(
        o,
        "<header><h1>lab {}</h1><span class=\"meta\">{} nodes, {} links; {}; layout {}</span>",
        esc(&plan.lab),
        plan.nodes.len(),
        plan.links.len(),
        esc(&when),
        esc(&p.layout.engine)
    );
    o.push_str(
        "<div class=\"legend\"><span class=\"l-host\">host</span><span class=\"l-router\">router</span><span class=\"l-switch\">switch (segment)</span><span class=\"l-down\">link down</span><span class=\"l-impaired\">impaired</span><span class=\"l-dead\">dead node</span></div></header>\n",
    );
    let _ = writeln!(
        o,
        "<div id=\"summary\" hidden data-lab=\"{}\" data-nodes=\"{}\" data-links=\"{}\" data-live=\"{}\"></div>",
        esc(&plan.lab),
        plan.nodes.len(),
        plan.links.len(),
        p.live.is_some()
    );
    o.push_str("<main id=\"view\">\n");
    o.push_str(&drawing(p, false));
    o.push_str("</main>\n<p class=\"hint\">Wheel: zoom. Drag: pan. Double-click: fit. Hover a node: its links.</p>\n<div class=\"tables\">\n");
    let open = if plan.links.len() <= 60 { " open" } else { "" };
    let _ = writeln!(
        o,
        "<section><details{open}><summary>Links ({})</summary><table id=\"links\"><thead><tr><th>link</th><th>state</th><th>impairments</th></tr></thead><tbody>",
        plan.links.len()
    );
    for (li, l) in plan.links.iter().enumerate() {
        let live = p.live.and_then(|v| v.links.get(li));
        let state = live.map_or(LinkLook::Up.word(), |v| v.look.word());
        let state = if p.live.is_none() { "planned" } else { state };
        let imp = live.map_or([l.impair, l.impair], |v| v.impair);
        let _ = writeln!(
            o,
            "<tr data-link=\"{}\" data-state=\"{state}\"><td>{} — {}</td><td class=\"state-{state}\">{state}</td><td>{}</td></tr>",
            esc(&link_id(l)),
            esc(&l.a.to_string()),
            esc(&l.b.to_string()),
            esc(&impair_words(l, &imp))
        );
    }
    o.push_str("</tbody></table></details></section>\n");
    let open = if plan.nodes.len() <= 60 { " open" } else { "" };
    let _ = writeln!(
        o,
        "<section><details{open}><summary>Nodes ({})</summary><table id=\"nodes\"><thead><tr><th>node</th><th>kind</th><th>state</th><th>addresses</th></tr></thead><tbody>",
        plan.nodes.len()
    );
    for n in &plan.nodes {
        let state = match p.live {
            None => "planned",
            Some(v) if v.dead.contains(&n.name) => "dead",
            Some(_) => "up",
        };
        let addrs: Vec<String> = n.addrs().map(|a| a.to_string()).collect();
        let _ = writeln!(
            o,
            "<tr data-node=\"{}\" data-state=\"{state}\"><td>{}</td><td>{}</td><td class=\"state-{state}\">{state}</td><td>{}</td></tr>",
            esc(&n.name),
            esc(&n.name),
            n.kind.word(),
            esc(&addrs.join(" "))
        );
    }
    o.push_str("</tbody></table></details></section>\n</div>\n");
    let _ = write!(o, "<script>{PAGE_SCRIPT}</script>\n</body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::Impair;
    use crate::picture::{layout, Live, LiveLink};
    use crate::plan::Plan;

    fn two_routers() -> Plan {
        let text = include_str!("../../../../labs/two-routers.toml");
        let lab = crate::Lab::from_toml(text, "two-routers.toml", None, None).unwrap();
        crate::plan(&lab).unwrap()
    }

    fn live(plan: &Plan) -> Live {
        let mut links: Vec<LiveLink> = plan
            .links
            .iter()
            .map(|_| LiveLink {
                look: LinkLook::Up,
                impair: [Impair::default(); 2],
            })
            .collect();
        let r1r2 = plan
            .links
            .iter()
            .position(|l| l.a.node == "r1" && l.b.node == "r2")
            .unwrap();
        links[r1r2].look = LinkLook::Down;
        let slow = Impair {
            delay: Some(20_000),
            ..Impair::default()
        };
        links[0].impair = [slow, slow];
        Live {
            read_at: "2026-12-03T09:00:00.000Z".into(),
            dead: ["h4".to_string()].into(),
            links,
        }
    }

    #[test]
    fn svg_marks_state_on_links_and_nodes() {
        let plan = two_routers();
        let l = layout::builtin(&plan);
        let v = live(&plan);
        let s = svg(&Picture {
            plan: &plan,
            layout: &l,
            live: Some(&v),
        });
        assert!(s.starts_with("<?xml") && s.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
        for n in &plan.nodes {
            assert!(
                s.contains(&format!(r#"data-node="{}""#, n.name)),
                "{}",
                n.name
            );
        }
        assert!(s.contains(r#"data-link="r1:eth1--r2:eth0" data-a="r1:eth1" data-b="r2:eth0" data-state="down""#), "{s}");
        assert!(s.contains(r#"data-node="h4" data-kind="host" data-state="dead""#));
        assert!(s.contains(r#"data-impair="delay 20ms""#));
        // Addresses at the ends; switch ports by name only.
        assert!(s.contains(">eth1 10.0.2.1/30<"), "{s}");
        assert!(s.contains(r#"class="mark""#));
        // Without live state everything is as planned.
        let s = svg(&Picture {
            plan: &plan,
            layout: &l,
            live: None,
        });
        assert!(!s.contains(r#"data-state="down""#) && s.contains(r#"data-state="planned""#));
    }

    #[test]
    fn html_is_self_contained() {
        let plan = two_routers();
        let l = layout::builtin(&plan);
        let v = live(&plan);
        let h = html(&Picture {
            plan: &plan,
            layout: &l,
            live: Some(&v),
        });
        assert!(h.starts_with("<!DOCTYPE html>"));
        for bad in ["http:", "https:", "src=", "href=", "@import", "url("] {
            assert!(!h.contains(bad), "{bad} in the page");
        }
        assert!(h.contains("1 link(s) down, 1 node(s) dead"));
        assert!(h.contains(r#"<tr data-link="r1:eth1--r2:eth0" data-state="down">"#));
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(esc(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
