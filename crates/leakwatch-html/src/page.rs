//! The frame every page shares: the document, its inline style and script,
//! the heading and the verdict box.

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// How a verdict is shown: its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    Leak,
    Ok,
    Unknown,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Leak => "v-leak",
            Tone::Ok => "v-ok",
            Tone::Unknown => "v-unknown",
        }
    }
}

/// The whole document: `what` names the command (`run`, `report`, ...),
/// `subject` what it looked at (a command line, a file).
pub(crate) fn document(what: &str, subject: &str, body: Markup) -> String {
    let title = format!("leakwatch {what}: {subject}");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No request may leave the page: not even a favicon lookup.
                meta http-equiv="Content-Security-Policy" content=(CSP);
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    div.brand { "leakwatch " span.cmd { (what) } }
                    div.subject { code { (subject) } }
                }
                main { (body) }
                footer {
                    "Made by leakwatch " (env!("CARGO_PKG_VERSION"))
                    ". A self-contained page: it loads nothing from anywhere. Hover a chart for its values."
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
    .into_string()
}

/// The verdict box: a word, a line saying why, and any detail lines.
pub(crate) fn verdict(tone: Tone, word: &str, why: &str, details: &[String]) -> Markup {
    html! {
        section.verdict.(tone.class()) {
            div.word { (word) }
            div.why { (why) }
            @for d in details { div.detail { (d) } }
        }
    }
}

/// A definition list of facts: (term, value).
pub(crate) fn facts(items: &[(&str, String)]) -> Markup {
    html! {
        dl.facts {
            @for (k, v) in items {
                div { dt { (k) } dd { (v) } }
            }
        }
    }
}

/// Inline scripts and styles only; nothing else may load (images only as
/// `data:` for nothing in particular: charts are inline SVG). The
/// flamegraph's frame gets its own document from `srcdoc`, which inherits
/// this policy.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   img-src data:; frame-src 'self'; base-uri 'none'; form-action 'none'";

const CSS: &str = r#"
:root{--fg:#1d232b;--muted:#5c6773;--line:#d8dde3;--bg:#fff;--panel:#f6f8fa;--leak:#c62828;--ok:#2e7d32;--unk:#8d6e00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:14px 28px;border-bottom:1px solid var(--line);background:var(--panel)}
.brand{font-weight:700;font-size:20px}.brand .cmd{color:var(--muted);font-weight:600}
.subject code{font-size:13px;color:var(--muted);word-break:break-all}
main{padding:8px 28px 28px;max-width:1240px}
footer{padding:12px 28px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
h2{font-size:18px;margin:26px 0 8px}h3{font-size:16px;margin:18px 0 6px}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
.verdict{margin:16px 0;padding:12px 16px;border-left:6px solid;border-radius:4px;background:var(--panel)}
.verdict .word{font-size:22px;font-weight:800;letter-spacing:.02em}
.verdict .why{font-size:15px;margin-top:2px}.verdict .detail{color:var(--muted);font-size:13px}
.v-leak{border-color:var(--leak)}.v-leak .word{color:var(--leak)}
.v-ok{border-color:var(--ok)}.v-ok .word{color:var(--ok)}
.v-unknown{border-color:var(--unk)}.v-unknown .word{color:var(--unk)}
.facts{display:flex;flex-wrap:wrap;gap:4px 26px;margin:8px 0}
.facts div{min-width:120px}.facts dt{font-size:12px;color:var(--muted)}.facts dd{margin:0;font-weight:600}
.state{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:700;background:#e8eaed}
.state.leak{background:#fde0dc;color:var(--leak)}.state.growing{background:#fff1c2;color:#7a5900}
.state.plateau{background:#e3f2fd;color:#0d47a1}.state.stable{background:#e6f4ea;color:var(--ok)}
.card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:14px 0}
.card .head{display:flex;flex-wrap:wrap;gap:6px 16px;align-items:baseline}
.card .reason{color:var(--muted);font-size:13px;margin:4px 0}
svg.chart{width:100%;height:auto;display:block;margin-top:6px}
svg.chart text{font-size:12px;fill:var(--muted)}
svg.chart text.mark{font-weight:600}
svg.chart .grid{stroke:#eceff2}svg.chart .frame{fill:none;stroke:var(--line)}
svg.chart .unit{font-size:12px;fill:var(--fg)}
svg.chart path{fill:none}
svg.chart .range{fill:#90caf9;fill-opacity:.35;stroke:none}
svg.chart path.mean{stroke:#4a8fd6;stroke-width:1.2}
svg.chart path.env{stroke:#ef6c00;stroke-width:1.6}svg.chart circle.env{fill:#ef6c00;stroke:#fff;stroke-width:1}
svg.chart path.trend{stroke:#b71c1c;stroke-width:2.2}
svg.chart path.band{fill:#e57373;fill-opacity:.22;stroke:none}
svg.chart path.proj{stroke:#b71c1c;stroke-width:1.8;stroke-dasharray:7 5}
svg.chart line.limit{stroke:#37474f;stroke-width:1.6;stroke-dasharray:3 3}svg.chart text.limit{fill:#37474f}
svg.chart line.alert{stroke:var(--leak);stroke-width:1.6;stroke-dasharray:5 4}svg.chart text.alert{fill:var(--leak)}
svg.chart circle.alert{fill:var(--leak)}
svg.chart line.restart{stroke:#78909c;stroke-width:1.2;stroke-dasharray:2 3}svg.chart text.restart{fill:#78909c}
svg.chart .cursor{stroke:#263238;stroke-width:1;stroke-dasharray:2 2}
svg.chart path.s0{stroke:#1565c0}svg.chart path.s1{stroke:#c62828}svg.chart path.s2{stroke:#2e7d32}svg.chart path.s3{stroke:#6a1b9a}
svg.chart path.s4{stroke:#ef6c00}svg.chart path.s5{stroke:#00838f}svg.chart path.s6{stroke:#ad1457}svg.chart path.s7{stroke:#4e342e}
svg.chart path[class^=s]{stroke-width:1.8}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:12px;color:var(--muted);margin:2px 0 0 84px}
.legend .sw{display:inline-block;width:18px;height:10px;margin-right:6px;vertical-align:middle;border-radius:2px}
.sw.range{background:#90caf9}.sw.mean{background:#4a8fd6;height:3px}.sw.env{background:#ef6c00;height:3px}
.sw.trend{background:#b71c1c;height:3px}.sw.band{background:#e57373;opacity:.5}
.sw.proj{height:0;border-top:3px dashed #b71c1c}.sw.limit{height:0;border-top:3px dashed #37474f}
.sw.alert{height:0;border-top:3px dashed var(--leak)}.sw.restart{height:0;border-top:3px dotted #78909c}
.sw.s0{background:#1565c0}.sw.s1{background:#c62828}.sw.s2{background:#2e7d32}.sw.s3{background:#6a1b9a}
.sw.s4{background:#ef6c00}.sw.s5{background:#00838f}.sw.s6{background:#ad1457}.sw.s7{background:#4e342e}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;background:var(--panel)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.grow td:first-child{border-left:3px solid var(--leak)}
details summary{cursor:pointer}details pre{margin:4px 0 8px;white-space:pre-wrap;word-break:break-all}
.path{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px;line-height:1.9}
.path .step{display:inline-block;border:1px solid var(--line);border-radius:4px;padding:0 6px;background:var(--panel)}
.path .edge{color:#6a1b9a}.path .arrow{color:var(--muted);margin:0 4px}.path .root{font-weight:700}
.muted{color:var(--muted)}.note{color:var(--muted);font-size:13px}
iframe.flame{width:100%;border:1px solid var(--line);border-radius:6px;background:#fff}
.tip{position:fixed;pointer-events:none;background:#263238;color:#fff;font-size:12px;padding:5px 8px;border-radius:4px;display:none;z-index:9;max-width:420px;white-space:nowrap}
.tip b{font-weight:700}
"#;

/// Hover values: the nearest point of each series offered to the read-out,
/// formatted in the chart's unit. Text goes in with `textContent` only.
const SCRIPT: &str = r#"
(function(){
'use strict';
function fb(v){var u=['B','KiB','MiB','GiB','TiB','PiB'],i=0,s=v<0?'-':'';v=Math.abs(v);while(v>=1024&&i<u.length-1){v/=1024;i++}return s+(i?v.toFixed(1):v.toFixed(0))+' '+u[i]}
function p2(n){return(n<10?'0':'')+n}
function fd(s){if(s<0)s=0;if(s>0&&s<1)return Math.round(s*1000)+'ms';if(s<10)return s.toFixed(1)+'s';s=Math.round(s);var d=Math.floor(s/86400),h=Math.floor(s/3600)%24,m=Math.floor(s/60)%60,x=s%60;if(d)return d+'d '+p2(h)+'h';if(h)return h+'h '+p2(m)+'m';if(m)return m+'m '+p2(x)+'s';return x+'s'}
function fv(u,v){if(u==='bytes')return fb(v);if(u==='seconds')return fd(v);return Math.abs(v-Math.round(v))<1e-9?v.toFixed(0):v.toFixed(1)}
var tip=document.createElement('div');tip.className='tip';document.body.appendChild(tip);
function nearest(pts,t){var lo=0,hi=pts.length-1;while(hi-lo>1){var m=(lo+hi)>>1;if(pts[m][0]<t)lo=m;else hi=m}return Math.abs(pts[lo][0]-t)<=Math.abs(pts[hi][0]-t)?pts[lo]:pts[hi]}
Array.prototype.forEach.call(document.querySelectorAll('svg.chart'),function(svg){
 var d=svg.dataset,x0=+d.x0,x1=+d.x1,l=+d.l,r=+d.r,t=+d.t,b=+d.b,unit=d.unit;
 var series=Array.prototype.map.call(svg.querySelectorAll('g.hov'),function(g){return{name:g.getAttribute('data-name'),pts:g.getAttribute('data-pts').split(' ').map(function(p){var a=p.split(',');return[+a[0],+a[1]]})}});
 if(!series.length)return;
 var cur=svg.querySelector('line.cursor');
 function hide(){tip.style.display='none';cur.setAttribute('visibility','hidden')}
 svg.addEventListener('mouseleave',hide);
 svg.addEventListener('mousemove',function(e){
  var pt=svg.createSVGPoint();pt.x=e.clientX;pt.y=e.clientY;var p=pt.matrixTransform(svg.getScreenCTM().inverse());
  if(p.x<l||p.x>r){hide();return}
  var time=x0+(p.x-l)/(r-l)*(x1-x0);
  while(tip.firstChild)tip.removeChild(tip.firstChild);
  var head=document.createElement('b'),at=null;tip.appendChild(head);
  series.forEach(function(s){var q=nearest(s.pts,time);if(at===null)at=q[0];var row=document.createElement('div');row.textContent=s.name+': '+fv(unit,q[1]);tip.appendChild(row)});
  head.textContent='at '+fd(at);
  var cx=l+(at-x0)/(x1-x0)*(r-l);cur.setAttribute('x1',cx);cur.setAttribute('x2',cx);cur.setAttribute('y1',t);cur.setAttribute('y2',b);cur.setAttribute('visibility','visible');
  tip.style.display='block';var w=tip.offsetWidth;var left=e.clientX+14;if(left+w>window.innerWidth-8)left=e.clientX-14-w;tip.style.left=left+'px';tip.style.top=(e.clientY+14)+'px';
 });
});
document.documentElement.setAttribute('data-ready','1');
})();
"#;
