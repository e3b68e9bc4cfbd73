//! leakwatch's HTML reports: one self-contained page per report that opens
//! offline, like memray's and heaptrack's reports.
//!
//! Every page is a single file: inline CSS, inline SVG charts drawn by
//! [`svg`], and a few lines of script for hover values. Nothing is fetched:
//! no fonts, no stylesheets or scripts by URL, no images by URL. Every string
//! that comes from the input (command lines, class names, file names,
//! function names) is escaped, by maud's templates or by [`svg::esc`].
//!
//! - [`monitor`]: `run`, `watch --out` and `analyze`: each resource over
//!   time with the detector's lower envelope, trend, confidence band, alert
//!   time and projection to the named limit.
//! - [`trace`]: `report`: growing sites' live bytes over time, the
//!   leaked-at-exit table, and the flamegraph (inferno's SVG) inline.
//! - [`heap`]: `diff`: the class table, the leak clusters' retainer paths,
//!   and turnover apart.
//! - [`where_`]: `where`: the ranked growing classes or sites with their series.

pub mod heap;
pub mod monitor;
mod page;
pub mod svg;
pub mod trace;
pub mod where_;
pub mod write;

pub use monitor::{monitor_page, MonitorPage, SeriesSummary};
pub use write::write_page;

/// Why a page could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error(transparent)]
    Output(#[from] leakwatch_files::OutputError),
    #[error("cannot read the recorded series: {0}")]
    Series(#[from] leakwatch_core::SeriesError),
    #[error("cannot draw the flamegraph: {0}")]
    Flamegraph(#[from] leakwatch_trace::export::ExportError),
}

/// The references in `html` that would make a browser fetch something:
/// in any tag, a `src`, `href` (also `xlink:href`) or similar attribute that
/// is not a fragment (`#id`) or a `data:` URL; in a style sheet or `style`
/// attribute, a `url(...)` other than those, or an `@import`; any
/// `http:`/`https:`/`//` URL as an attribute value. The document of an
/// `<iframe srcdoc>` is checked the same way. Text content is not looked
/// at (escaped text such as `&lt;img src=x&gt;` fetches nothing). Empty for
/// a page that opens offline.
pub fn external_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    scan_document(html, &mut found, 0);
    found
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn fetches(value: &str) -> bool {
    let v = value
        .trim_start_matches(['"', '\'', ' '])
        .to_ascii_lowercase();
    !(v.starts_with('#') || v.starts_with("data:"))
}

fn scan_css(css: &str, found: &mut Vec<String>) {
    let lower = css.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("url(") {
        let at = from + i + 4;
        if fetches(&css[at..]) {
            found.push(css[from + i..(at + 60).min(css.len())].to_string());
        }
        from = at;
    }
    if lower.contains("@import") {
        found.push("@import".to_string());
    }
}

fn scan_document(html: &str, found: &mut Vec<String>, depth: usize) {
    const FETCHING: [&str; 11] = [
        "src",
        "href",
        "xlink:href",
        "action",
        "poster",
        "srcset",
        "data",
        "background",
        "formaction",
        "manifest",
        "ping",
    ];
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else { break };
        let tag = &after[..gt];
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        // Attributes: name=value pairs (values quoted or not).
        let mut attrs = tag[name.len()..].trim_start();
        while !attrs.is_empty() {
            let key_end = attrs
                .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
                .unwrap_or(attrs.len());
            let key = attrs[..key_end].to_ascii_lowercase();
            attrs = &attrs[key_end..];
            let mut value = "";
            if let Some(v) = attrs.strip_prefix('=') {
                let (val, left) = match v.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let end = v[1..].find(q).map_or(v.len(), |e| e + 1);
                        (&v[1..end], v.get(end + 1..).unwrap_or(""))
                    }
                    _ => {
                        let end = v.find(char::is_whitespace).unwrap_or(v.len());
                        (&v[..end], &v[end..])
                    }
                };
                value = val;
                attrs = left;
            }
            attrs = attrs.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            let plain = unescape(value);
            let lower = plain.to_ascii_lowercase();
            let fetching = FETCHING.contains(&key.as_str()) && fetches(&plain);
            let absolute = lower.starts_with("http:")
                || lower.starts_with("https:")
                || lower.starts_with("//");
            if fetching || absolute {
                found.push(format!("<{name} {key}={plain}>"));
            }
            if key == "style" {
                scan_css(&plain, found);
            }
            if key == "srcdoc" && depth < 4 {
                scan_document(&plain, found, depth + 1);
            }
        }
        rest = &after[gt + 1..];
        if name == "style" {
            let end = rest
                .to_ascii_lowercase()
                .find("</style")
                .unwrap_or(rest.len());
            scan_css(&rest[..end], found);
            rest = &rest[end..];
        } else if name == "script" {
            // A script's text is code, not markup.
            let end = rest
                .to_ascii_lowercase()
                .find("</script")
                .unwrap_or(rest.len());
            rest = &rest[end..];
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    /// Fails with the references found when `html` would fetch anything.
    pub fn assert_offline(html: &str) {
        let refs = super::external_references(html);
        assert!(refs.is_empty(), "external references: {refs:?}");
    }

    #[test]
    fn external_references_are_found() {
        assert!(super::external_references("<a href=\"#x\">x</a><img src=\"data:,\">").is_empty());
        for bad in [
            "<img src=\"https://example.invalid/a.png\">",
            "<script src=//cdn.invalid/x.js></script>",
            "<link rel=stylesheet href=\"style.css\">",
            "<style>@import url(x.css)</style>",
            "<style>body{background:url('http://x.invalid/a')}</style>",
            "<iframe srcdoc=\"&lt;img src=&quot;http://x.invalid&quot;&gt;\"></iframe>",
            "<svg><image xlink:href=\"a.png\"/></svg>",
        ] {
            assert!(!super::external_references(bad).is_empty(), "{bad}");
        }
    }
}
