//! Hiding a password given in a URL (`http://user:secret@host`) before the
//! URL is shown anywhere: errors, reports, JSON. As Go's `url.Redacted()`:
//! the user name stays (it says which account), the password becomes
//! `xxxxx`.

/// What a hidden password is shown as.
pub const MASK: &str = "xxxxx";

/// `url` with its password, if any, replaced by [`MASK`]. A URL the `url`
/// crate cannot parse (a typo, no scheme) is still shown, so it is hidden
/// conservatively: everything between the first `:` of what looks like the
/// user part and the last `@` before any `?` or `#` is masked.
pub fn redact_url(url: &str) -> String {
    // Without `://` the parser's reading is not the user's: `ws:PW @a`
    // (`user:password@host` for a user named like a special scheme) parses
    // as scheme `ws` with user `PW `, and the password was shown.
    let parsed = url::Url::parse(url).ok().filter(|_| url.contains("://"));
    if let Some(mut parsed) = parsed {
        if parsed.has_host() && parsed.password().is_some() {
            if parsed.set_password(Some(MASK)).is_ok() {
                let mut shown = parsed.to_string();
                // The parser adds a `/` to an empty path; keep the URL as given.
                if !url.ends_with('/') && parsed.path() == "/" && shown.ends_with('/') {
                    shown.pop();
                }
                return shown;
            }
        } else if parsed.has_host() {
            return url.to_string();
        }
    }
    redact_unparsed(url)
}

/// The password of `url` as written in it (still percent-encoded), if any:
/// for scrubbing it from messages of other libraries that may quote the URL.
pub fn url_password(url: &str) -> Option<String> {
    let (start, end) = userinfo_span(url)?;
    let userinfo = &url[start..end];
    let colon = userinfo.find(':')?;
    let password = &userinfo[colon + 1..];
    (!password.is_empty()).then(|| password.to_string())
}

/// `text` with every occurrence of `secret` (and of its percent-decoded
/// form) replaced by [`MASK`].
pub fn scrub(text: &str, secret: Option<&str>) -> String {
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return text.to_string();
    };
    let mut out = text.replace(secret, MASK);
    let decoded = percent_decode(secret);
    if !decoded.is_empty() && decoded != secret {
        out = out.replace(&decoded, MASK);
    }
    out
}

/// Byte span of the user part (`user:password`) of `url`, before its `@`:
/// after `scheme://` (or from the start when there is none), up to the last
/// `@` before any `?` or `#`, else the last `@` at all. The last, not the
/// first: an unencoded `@`, `/`, `?` or `#` in a password must not leave its
/// tail visible.
fn userinfo_span(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let stop = rest.find(['?', '#']).unwrap_or(rest.len());
    let at = rest[..stop].rfind('@').or_else(|| rest.rfind('@'))?;
    Some((start, start + at))
}

fn redact_unparsed(url: &str) -> String {
    let Some((start, end)) = userinfo_span(url) else {
        return url.to_string();
    };
    match url[start..end].find(':') {
        Some(colon) => format!("{}{MASK}{}", &url[..start + colon + 1], &url[end..]),
        None => url.to_string(),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_masked_and_the_rest_kept() {
        assert_eq!(
            redact_url("http://user:s3cret@127.0.0.1:9090"),
            "http://user:xxxxx@127.0.0.1:9090"
        );
        assert_eq!(
            redact_url("https://user:s3cret@prom.example/sub/"),
            "https://user:xxxxx@prom.example/sub/"
        );
        assert_eq!(
            redact_url("http://user:s3cret@h:9090/auth401"),
            "http://user:xxxxx@h:9090/auth401"
        );
        // No password: unchanged, user name and all.
        assert_eq!(redact_url("http://user@h:9090"), "http://user@h:9090");
        assert_eq!(redact_url("http://h:9090"), "http://h:9090");
        assert_eq!(redact_url(""), "");
    }

    #[test]
    fn urls_the_parser_refuses_are_hidden_too() {
        // No scheme (the url crate reads `user` as one).
        assert_eq!(redact_url("user:s3cret@h:9090"), "user:xxxxx@h:9090");
        // An unencoded `/` or `@` in the password.
        assert_eq!(redact_url("http://u:pa/ss@h:9090"), "http://u:xxxxx@h:9090");
        assert_eq!(redact_url("http://u:p@ss@h:9090"), "http://u:xxxxx@h:9090");
        assert_eq!(redact_url("http://[bad:s3cret@"), "http://[bad:xxxxx@");
        assert_eq!(redact_url("http://u:PW#?x@h"), "http://u:xxxxx@h");
    }

    #[test]
    fn a_password_is_scrubbed_from_other_messages() {
        let url = "http://u:p%40ss@h:9090";
        assert_eq!(url_password(url).as_deref(), Some("p%40ss"));
        assert_eq!(url_password("http://u@h"), None);
        assert_eq!(url_password("http://h"), None);
        assert_eq!(
            scrub("bad uri http://u:p%40ss@h:9090 (p@ss)", Some("p%40ss")),
            "bad uri http://u:xxxxx@h:9090 (xxxxx)"
        );
        assert_eq!(scrub("text", None), "text");
    }

    proptest::proptest! {
        #[test]
        fn no_password_survives_redaction(
            user in "[a-z]{0,8}",
            // A marker keeps the password from matching the host or path by chance.
            password in "PW[ -~]{1,16}",
            host in "[a-z]{1,10}(:[0-9]{1,5})?",
            path in "(/[a-z0-9]{0,6}){0,2}",
            scheme in "(http|https|)",
        ) {
            // As a user would write it, and percent-encoded as a URL needs it.
            let encoded: String = url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
            let prefix = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
            for pw in [&password, &encoded] {
                let url = format!("{prefix}{user}:{pw}@{host}{path}");
                let shown = redact_url(&url);
                proptest::prop_assert!(!shown.contains(pw.as_str()), "{url} -> {shown}");
                proptest::prop_assert!(shown.contains("xxxxx@"), "{url} -> {shown}");
                let secret = url_password(&url);
                let scrubbed = scrub(&format!("error: {url}"), secret.as_deref());
                proptest::prop_assert!(!scrubbed.contains(pw.as_str()), "{url} -> {scrubbed}");
            }
        }

        #[test]
        fn any_text_is_handled_without_panic(s in "\\PC{0,40}") {
            let _ = redact_url(&s);
            let _ = scrub(&s, url_password(&s).as_deref());
        }
    }
}
