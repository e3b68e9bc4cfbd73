//! The rule engine on random and hostile source: never a panic, positions
//! always inside the file.

use leakwatch_check::{check_source, Lang, RuleOptions};
use proptest::prelude::*;

const LANGS: [Lang; 6] = [
    Lang::Python,
    Lang::JavaScript,
    Lang::TypeScript,
    Lang::Tsx,
    Lang::Go,
    Lang::Java,
];

/// Fragments that steer random programs into the rules' code paths.
const TOKENS: &[&str] = &[
    "def f(x):\n",
    "    ",
    "\n",
    "class A:\n",
    "@functools.lru_cache(maxsize=None)\n",
    "@cache\n",
    "_c = {}\n",
    "L = []\n",
    "_c[x] = 1\n",
    "L.append(x)\n",
    "x in _c\n",
    "open(p)\n",
    "f = open(p)\n",
    "with ",
    " as f:\n",
    "threading.Thread(target=f)\n",
    "while True:\n",
    "for x in M.objects.all():\n",
    "cur.fetchall()\n",
    "function g(a) {",
    "}",
    "{",
    "(",
    ")",
    "=>",
    "const m = new Map();",
    "m.set(a, 1);",
    "m.get(a);",
    "window.addEventListener('x', h);",
    "useEffect(() => {",
    "}, []);",
    "setInterval(() => a.b, 1000);",
    "const id = setInterval(f, 1);",
    "this.x = 1;",
    "y = 2;",
    "var theThing = null;",
    "theThing = { m() {} };",
    "func F() {",
    "go func() { for { <-ch } }()",
    "rows, err := db.Query(\"SELECT * FROM t\")",
    "f, err := os.Open(p)",
    "defer f.Close()",
    "for {",
    "time.Tick(d)",
    "var cache = map[string]int{}",
    "cache[k] = v",
    "public class C {",
    "static Map<String, X> M = new HashMap<>();",
    "M.put(k, v);",
    "Connection c = ds.getConnection();",
    "new Thread(() -> { while (true) {} }).start();",
    "Files.lines(p)",
    ";",
    ",",
    "\"",
    "'",
    "`",
    "/*",
    "*/",
    "#",
    "//",
    "é",
    "\u{1F600}",
    "\t",
    "\r\n",
    "\0",
];

fn program() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..200).prop_map(|v| v.concat())
}

fn check_positions(lang: Lang, src: &str) {
    let r = check_source("p", lang, src, &RuleOptions::default()).expect("grammars load");
    let lines = src.split('\n').count();
    for f in &r.findings {
        assert!(
            f.line >= 1 && f.line <= lines,
            "{lang:?}: line {} of {lines}",
            f.line
        );
        assert!(f.column >= 1);
        assert!(f.end_line >= f.line);
        assert!(f.snippet.len() <= src.len());
        assert_eq!(f.fingerprint.len(), 16);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_token_programs_never_panic(src in program(), li in 0usize..6) {
        check_positions(LANGS[li], &src);
    }

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>(), li in 0usize..6) {
        check_positions(LANGS[li], &src);
    }

    #[test]
    fn findings_are_deterministic(src in program(), li in 0usize..6) {
        let opts = RuleOptions::default();
        let a = check_source("p", LANGS[li], &src, &opts).unwrap();
        let b = check_source("p", LANGS[li], &src, &opts).unwrap();
        let key = |r: &leakwatch_check::SourceResult| r.findings.iter().map(|f| (f.line, f.column, f.rule, f.fingerprint.clone())).collect::<Vec<_>>();
        prop_assert_eq!(key(&a), key(&b));
    }
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    for lang in LANGS {
        let deep = format!("x = {}1{}\n", "(".repeat(20_000), ")".repeat(20_000));
        check_positions(lang, &deep);
        let blocks = format!("function f() {{{}}}", "{".repeat(20_000));
        check_positions(lang, &blocks);
    }
}

#[test]
fn long_single_line_is_fine() {
    let line = format!("var a = [{}];", "1,".repeat(200_000));
    check_positions(Lang::JavaScript, &line);
}

/// Fragments of deployment files: YAML structure, anchors and aliases,
/// Kubernetes and compose keys, Dockerfile instructions, unit and INI lines.
const DEPLOY_TOKENS: &[&str] = &[
    "apiVersion: v1\n",
    "kind: Deployment\n",
    "kind: Pod\n",
    "kind: List\n",
    "items:\n",
    "spec:\n",
    "  template:\n",
    "    spec:\n",
    "      containers:\n",
    "        - name: a\n",
    "          image: openjdk:8u181\n",
    "          args: [\"java\", \"-Xmx3g\"]\n",
    "          resources: {limits: {memory: 2Gi}}\n",
    "          env:\n",
    "            - {name: NODE_OPTIONS, value: --max-old-space-size=9}\n",
    "restartPolicy: Never\n",
    "services:\n",
    "  web:\n",
    "    image: x\n",
    "    mem_limit: 1g\n",
    "    <<: *a\n",
    "x: &a {b: 1}\n",
    "*a\n",
    "&b ",
    "[",
    "]",
    "{",
    "}",
    "---\n",
    "- ",
    ": ",
    "\"",
    "'",
    "#",
    "\t",
    "\n",
    "  ",
    "{{ .Values }}\n",
    "FROM openjdk:8u181\n",
    "ARG A='-Xmx1g\n",
    "ENV JAVA_OPTS=${A} \\\n",
    "CMD [\"gunicorn\"",
    "ENTRYPOINT java $JAVA_OPTS\n",
    "[Service]\n",
    "ExecStart=/usr/bin/node s.js \\\n",
    "MemoryMax=1G\n",
    "Environment=\"GOMEMLIMIT=3GiB\n",
    "[uwsgi]\n",
    "pm = dynamic\n",
    "pm.max_requests = 0 ;\n",
    "workers 4\n",
    "apps: [{ script: 'a', ",
    "web: gunicorn x\n",
];

const DEPLOY_NAMES: &[&str] = &[
    "k.yaml",
    "Dockerfile",
    "a.service",
    "uwsgi.ini",
    "gunicorn.conf.py",
    "ecosystem.config.js",
    "puma.rb",
    "Procfile",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn deployment_files_never_panic(
        parts in proptest::collection::vec(proptest::sample::select(DEPLOY_TOKENS), 0..80),
        name in proptest::sample::select(DEPLOY_NAMES),
        noise in "\\PC{0,40}",
    ) {
        let src = parts.concat() + &noise;
        let path = std::path::Path::new(name);
        let kind = leakwatch_check::deploy::DeployKind::from_name(path).unwrap();
        let lines = src.lines().count().max(1);
        if let Ok(leakwatch_check::deploy::DeployOutcome::Hits(hits)) =
            leakwatch_check::deploy::check(path, kind, &src)
        {
            for h in hits {
                prop_assert!(h.line >= 1 && h.line <= lines + 1, "line {} of {}", h.line, lines);
                prop_assert!(h.start_byte <= h.end_byte && h.end_byte <= src.len());
            }
        }
    }
}
