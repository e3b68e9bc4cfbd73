//! Evidence that a Ruby or PHP store grows with traffic.
//!
//! Library code is full of stores that only grow but are filled a fixed
//! number of times: configuration registries, class-definition DSLs, memos
//! keyed by constants, character sets or method names. Which of them grow
//! per request is set by the library's users, outside the tree. So a cache,
//! accumulator or listener finding in Ruby or PHP stands only on positive
//! evidence that it grows per request, job, message or connection:
//!
//! * the store is written in a request, job or worker entry point or in a
//!   loop that serves them (decided on the syntax tree by each analyzer);
//! * what is stored, or its key, is visibly outside input: the request, its
//!   parameters or environment, a message or job, or an identity (an id,
//!   address, URL, e-mail, token...): [`reads_outside_input`];
//! * or it is a parameter of its method and the tree calls that method from
//!   an entry point (within a few calls): [`super::Unless::NotReachedFromEntry`].
//!
//! The checks here are on names and text, shared by both languages.

/// How many calls from an entry point a method may be and still count as
/// reached: edges are by method name, so every further hop joins methods
/// of unrelated classes that share a name.
pub const MAX_HOPS: usize = 3;

/// Whether a method name is a request, job or message entry point
/// (`perform`, `handle`, `__invoke`, `onMessage`, `receive_data`...). Rack's
/// `call(env)` is decided by the caller, which sees the parameter.
pub fn entry_method(name: &str) -> bool {
    // PHP's `__invoke` makes an invokable handler (a controller action, a
    // message or job handler); a bare `invoke` is a command or task run
    // (Rake's, Thor's, `Gem::Command#invoke`): once per process.
    if name == "invoke" {
        return false;
    }
    let norm: String = name
        .chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    matches!(
        norm.as_str(),
        "perform"
            | "handle"
            | "invoke"
            | "process"
            | "consume"
            | "work"
            | "onmessage"
            | "onrequest"
            | "ondata"
            | "onreceive"
            | "receivedata"
            | "handlerequest"
            | "handlemessage"
            | "handlejob"
            | "processmessage"
            | "processrequest"
            | "processjob"
    )
}

/// The words of an identifier, lowercased: `user_agent` and `userAgent`
/// both give `["user", "agent"]`; sigils are dropped.
fn words(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '$' || c == '@' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether an identifier names an identity that comes from outside: an id,
/// a network address, a URL, an e-mail address, a token, a SKU, a
/// connection's descriptor (`user_id`, `$fileId`, `ip`, `$url`, `token`).
pub fn id_like(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else {
        return false;
    };
    let before = w.len().checked_sub(2).map(|i| w[i].as_str());
    matches!(
        last.as_str(),
        "id" | "ids"
            | "uuid"
            | "guid"
            | "sku"
            | "ip"
            | "url"
            | "uri"
            | "href"
            | "email"
            | "token"
            | "fd"
    ) || (last == "agent" && before == Some("user"))
        || (last == "address" && matches!(before, Some("ip" | "remote" | "email")))
}

/// Names whose fields are outside input when read (`params[:id]`,
/// `env["PATH_INFO"]`, `$request->get(...)`, `$msg->body`).
const INPUT_ROOTS: &[&str] = &[
    "params", "env", "request", "req", "cookies", "session", "message", "msg", "job", "payload",
];

/// PHP's request superglobals: input wherever they appear.
const SUPERGLOBALS: &[&str] = &["_GET", "_POST", "_REQUEST", "_COOKIE", "_SERVER", "_FILES"];

/// Whether the expression `text` (a store's key and value, a listener's
/// call) reads outside input: a field of the request, its parameters or
/// environment, a message or a job, a request superglobal, or an
/// identifier naming an identity ([`id_like`]). `store` (the store's own
/// name) is skipped; so are string literals, Ruby symbols (`:user_id` is a
/// constant) and names of functions called (`find_by_id(`).
pub fn reads_outside_input(text: &str, store: &str) -> bool {
    let store = store.trim_start_matches(['$', '@', ':']);
    let bytes = text.as_bytes();
    let mut i = 0;
    // Inside a double-quoted string only interpolated code is read.
    let mut in_double = false;
    let mut interp_depth = 0usize;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if !in_double || interp_depth > 0 {
            match c {
                '\'' => {
                    // Skip a single-quoted literal (no interpolation).
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'\'' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                    continue;
                }
                '"' if interp_depth == 0 => {
                    in_double = true;
                    i += 1;
                    continue;
                }
                '}' if interp_depth > 0 => {
                    interp_depth -= 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        } else {
            match c {
                '"' => {
                    in_double = false;
                    i += 1;
                    continue;
                }
                '\\' => {
                    i += 2;
                    continue;
                }
                '#' | '{' if text[i..].starts_with("#{") || text[i..].starts_with("{$") => {
                    interp_depth += 1;
                    i += if c == '#' { 2 } else { 1 };
                    continue;
                }
                // A bare `$var` in a PHP string is interpolated.
                '$' => {}
                _ => {
                    i += 1;
                    continue;
                }
            }
        }
        let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        if !(is_ident(bytes[i]) || bytes[i] == b'$') {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() && is_ident(bytes[i]) {
            i += 1;
        }
        let token = &text[start..i];
        let prev = text[..start].chars().next_back();
        let prev2 = text[..start].chars().rev().nth(1);
        // A Ruby symbol (`:id`, not `A::B`) is a constant.
        if prev == Some(':') && prev2 != Some(':') {
            continue;
        }
        let bare = token.trim_start_matches('$');
        if bare.is_empty() || bare == store || bare.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if token.starts_with('$') && SUPERGLOBALS.contains(&bare) {
            return true;
        }
        // A key written before its value (`id: 1` as a Ruby keyword
        // argument or hash key, a JS object key, a PHP named argument) names
        // the slot, not a value read.
        if text[i..].starts_with(':') && !text[i..].starts_with("::") {
            continue;
        }
        let rest = text[i..].trim_start();
        if rest.starts_with('(') {
            continue; // a function's name, not a value
        }
        // A root, not a field of something else (`x.request`).
        let is_root = !matches!(prev, Some('.') | Some('>') | Some(':'));
        let read = rest.starts_with('[') || rest.starts_with('.') || rest.starts_with("->");
        if is_root && read && INPUT_ROOTS.contains(&bare) {
            return true;
        }
        if id_like(bare) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_before_its_value_is_no_read() {
        assert!(!reads_outside_input("Tabs.create(id: 1)", "tabs"));
        assert!(reads_outside_input("Tabs.create(id: user_id)", "tabs"));
        assert!(!reads_outside_input("{ id: 'x', name: n }", "s"));
        assert!(reads_outside_input("A::B.find(id)", "s"));
    }

    #[test]
    fn entry_points_by_name_in_either_spelling() {
        for name in [
            "perform",
            "handle",
            "__invoke",
            "onMessage",
            "on_message",
            "receive_data",
        ] {
            assert!(entry_method(name), "{name}");
        }
        for name in [
            "add_module",
            "register",
            "configure",
            "call",
            "initialize",
            "invoke",
        ] {
            assert!(!entry_method(name), "{name}");
        }
    }

    #[test]
    fn identities_are_ids_addresses_urls_and_tokens() {
        for name in [
            "id",
            "user_id",
            "$fileId",
            "ip",
            "$url",
            "token",
            "sku",
            "user_agent",
            "remote_address",
        ] {
            assert!(id_like(name), "{name}");
        }
        for name in [
            "valid", "paid", "grid", "name", "$locale", "encoding", "agent", "path",
        ] {
            assert!(!id_like(name), "{name}");
        }
    }

    #[test]
    fn request_fields_and_identities_are_outside_input() {
        assert!(reads_outside_input(
            "@@clicks << params[:target]",
            "@@clicks"
        ));
        assert!(reads_outside_input(
            "USER_AGENTS[request.user_agent]",
            "USER_AGENTS"
        ));
        assert!(reads_outside_input("@by_id[user.id] = user", "@by_id"));
        assert!(reads_outside_input(
            "self::$byEmail[$msg->email] = $x",
            "$byEmail"
        ));
        assert!(reads_outside_input("$ids[$id] = true", "$ids"));
        assert!(reads_outside_input("$seen[] = $_GET['q']", "$seen"));
        assert!(reads_outside_input("$c[\"$ip-$subnet\"] = $r", "$c"));
        assert!(reads_outside_input("@w[\"#{user.id}\"] = 1", "@w"));
    }

    #[test]
    fn code_bounded_keys_are_not_outside_input() {
        // The store's own name, symbols, literals and called names.
        assert!(!reads_outside_input("$seen_ids.push(x)", "$seen_ids"));
        assert!(!reads_outside_input("@opts[:user_id] = value", "@opts"));
        assert!(!reads_outside_input("@m['id'] = 1", "@m"));
        assert!(!reads_outside_input("@m[\"id\"] = 1", "@m"));
        assert!(!reads_outside_input("@rows[k] = find_by_id(k)", "@rows"));
        assert!(!reads_outside_input("self::$cache[$class] = $r", "$cache"));
        assert!(!reads_outside_input("@c[name] ||= const_get(name)", "@c"));
        // A field named like a root is not the root.
        assert!(!reads_outside_input("@c[ctx.request] = 1", "@c"));
    }
}
