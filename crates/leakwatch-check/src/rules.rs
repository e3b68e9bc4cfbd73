//! The rules: ten on code, five on deployment files; stable ids, one-line
//! summaries, what each reads and `--explain` docs.

use serde::Serialize;

use crate::lang::Lang;

/// One rule of the checklist. Ids are stable: they appear in suppression
/// comments, configuration files and baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "&'static str")]
pub enum Rule {
    UnboundedCache,
    ListenerLeak,
    GlobalAccumulator,
    ClosureCapture,
    UnboundedResults,
    UnstoppableTask,
    UnreleasedConnection,
    UnclosedResource,
    UnclearedTimer,
    AccidentalGlobal,
    MemoryLimitMissing,
    HeapCapMismatch,
    WorkersNotRecycled,
    NoRestartPolicy,
    NoLivenessProbe,
}

impl From<Rule> for &'static str {
    fn from(r: Rule) -> Self {
        r.id()
    }
}

impl Rule {
    /// Every rule, in the order of `--explain` and SARIF's rule table.
    pub const ALL: &'static [Rule] = &[
        Rule::UnboundedCache,
        Rule::ListenerLeak,
        Rule::GlobalAccumulator,
        Rule::ClosureCapture,
        Rule::UnboundedResults,
        Rule::UnstoppableTask,
        Rule::UnreleasedConnection,
        Rule::UnclosedResource,
        Rule::UnclearedTimer,
        Rule::AccidentalGlobal,
        Rule::MemoryLimitMissing,
        Rule::HeapCapMismatch,
        Rule::WorkersNotRecycled,
        Rule::NoRestartPolicy,
        Rule::NoLivenessProbe,
    ];

    /// Whether the rule reads deployment files rather than code.
    pub fn is_deployment(self) -> bool {
        matches!(
            self,
            Rule::MemoryLimitMissing
                | Rule::HeapCapMismatch
                | Rule::WorkersNotRecycled
                | Rule::NoRestartPolicy
                | Rule::NoLivenessProbe
        )
    }

    /// The deployment file kinds a deployment rule reads (empty for code
    /// rules: see [`Rule::languages`]).
    pub fn file_kinds(self) -> &'static [&'static str] {
        match self {
            Rule::MemoryLimitMissing => &["kubernetes", "compose", "systemd"],
            Rule::HeapCapMismatch => &["kubernetes", "compose", "dockerfile", "systemd"],
            Rule::WorkersNotRecycled => &[
                "kubernetes",
                "compose",
                "dockerfile",
                "systemd",
                "procfile",
                "gunicorn",
                "uwsgi",
                "php-fpm",
                "pm2",
                "puma",
                "unicorn",
            ],
            Rule::NoRestartPolicy => &["kubernetes", "compose", "systemd"],
            Rule::NoLivenessProbe => &["kubernetes", "compose"],
            _ => &[],
        }
    }

    /// The stable, readable id (`unbounded-cache`).
    pub fn id(self) -> &'static str {
        match self {
            Rule::UnboundedCache => "unbounded-cache",
            Rule::ListenerLeak => "listener-leak",
            Rule::GlobalAccumulator => "global-accumulator",
            Rule::ClosureCapture => "closure-capture",
            Rule::UnboundedResults => "unbounded-results",
            Rule::UnstoppableTask => "unstoppable-task",
            Rule::UnreleasedConnection => "unreleased-connection",
            Rule::UnclosedResource => "unclosed-resource",
            Rule::UnclearedTimer => "uncleared-timer",
            Rule::AccidentalGlobal => "accidental-global",
            Rule::MemoryLimitMissing => "memory-limit-missing",
            Rule::HeapCapMismatch => "heap-cap-mismatch",
            Rule::WorkersNotRecycled => "workers-not-recycled",
            Rule::NoRestartPolicy => "no-restart-policy",
            Rule::NoLivenessProbe => "no-liveness-probe",
        }
    }

    /// Parses a rule id (case-insensitive, `_` accepted for `-`).
    pub fn from_id(s: &str) -> Option<Rule> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Rule::ALL.iter().copied().find(|r| r.id() == norm)
    }

    pub fn summary(self) -> &'static str {
        match self {
            Rule::UnboundedCache => "cache with no size limit, eviction or TTL",
            Rule::ListenerLeak => "listener added repeatedly and never removed",
            Rule::GlobalAccumulator => "module-level collection that only grows",
            Rule::ClosureCapture => "long-lived closure keeps a large object alive",
            Rule::UnboundedResults => "whole table or unbounded result set loaded into memory",
            Rule::UnstoppableTask => "goroutine, thread or interval with no way to stop",
            Rule::UnreleasedConnection => {
                "connection, cursor or response not released on every path"
            }
            Rule::UnclosedResource => "file or socket not closed on every path",
            Rule::UnclearedTimer => "timer or ticker never cleared or stopped",
            Rule::AccidentalGlobal => "assignment creates an accidental global variable",
            Rule::MemoryLimitMissing => "container, service or unit with no memory limit",
            Rule::HeapCapMismatch => "runtime heap cap missing or not inside the memory limit",
            Rule::WorkersNotRecycled => "long-lived workers never recycled",
            Rule::NoRestartPolicy => "daemon with no restart policy",
            Rule::NoLivenessProbe => "long-running container with no liveness probe",
        }
    }

    pub fn languages(self) -> &'static [Lang] {
        use Lang::*;
        match self {
            Rule::ListenerLeak => &[Python, JavaScript, TypeScript, Tsx, Java, Ruby, Php],
            Rule::ClosureCapture => &[Python, JavaScript, TypeScript, Tsx, Go, Ruby, Php],
            Rule::UnboundedCache
            | Rule::GlobalAccumulator
            | Rule::UnboundedResults
            | Rule::UnstoppableTask
            | Rule::UnreleasedConnection
            | Rule::UnclosedResource => &[Python, JavaScript, TypeScript, Tsx, Go, Java, Ruby, Php],
            Rule::UnclearedTimer => &[JavaScript, TypeScript, Tsx, Go, Java, Ruby, Php],
            Rule::AccidentalGlobal => &[JavaScript],
            Rule::MemoryLimitMissing
            | Rule::HeapCapMismatch
            | Rule::WorkersNotRecycled
            | Rule::NoRestartPolicy
            | Rule::NoLivenessProbe => &[],
        }
    }

    /// Long documentation for `leakwatch check --explain RULE`.
    pub fn explain(self) -> &'static str {
        match self {
            Rule::UnboundedCache => EXPLAIN_CACHE,
            Rule::ListenerLeak => EXPLAIN_LISTENER,
            Rule::GlobalAccumulator => EXPLAIN_ACCUMULATOR,
            Rule::ClosureCapture => EXPLAIN_CLOSURE,
            Rule::UnboundedResults => EXPLAIN_RESULTS,
            Rule::UnstoppableTask => EXPLAIN_TASK,
            Rule::UnreleasedConnection => EXPLAIN_CONNECTION,
            Rule::UnclosedResource => EXPLAIN_RESOURCE,
            Rule::UnclearedTimer => EXPLAIN_TIMER,
            Rule::AccidentalGlobal => EXPLAIN_GLOBAL,
            Rule::MemoryLimitMissing => EXPLAIN_LIMIT,
            Rule::HeapCapMismatch => EXPLAIN_HEAP,
            Rule::WorkersNotRecycled => EXPLAIN_RECYCLE,
            Rule::NoRestartPolicy => EXPLAIN_RESTART,
            Rule::NoLivenessProbe => EXPLAIN_PROBE,
        }
    }
}

const EXPLAIN_CACHE: &str = r#"unbounded-cache: cache with no size limit, eviction or TTL

A module-level (or static) map used as a cache keyed by call arguments grows
with every distinct key and is never trimmed: memory climbs with traffic.
`functools.cache` and `lru_cache(maxsize=None)` are the same thing, and
`lru_cache` on a method keys on `self`, keeping every instance alive.

Flagged only when the map is both looked up and filled inside functions and
nothing anywhere in the file deletes from it, clears it, checks its size or
hands it to other code.

Leaky:
    _cache = {}
    def price(sku):
        if sku in _cache:
            return _cache[sku]
        _cache[sku] = v = compute(sku)
        return v

    @functools.lru_cache(maxsize=None)
    def render(path): ...

    const cache = new Map();
    function get(k) { if (!cache.has(k)) cache.set(k, load(k)); return cache.get(k); }

    def lookup(ip) = (@cache ||= {})[ip] ||= resolve(ip)      # Ruby, module/singleton
    private static array $rates = [];                           # PHP worker
    public function rate(string $c) { return self::$rates[$c] ??= $this->fetch($c); }

Accepted fixes:
    @functools.lru_cache(maxsize=1024)           # bounded
    if len(_cache) > 10_000: _cache.clear()      # size check
    cache.delete(oldestKey) / an LRU library / a TTL cache
    Go: delete(cache, k) or len(cache) checks; Java: LinkedHashMap with
    removeEldestEntry, Caffeine/Guava with maximumSize.
    Ruby: a size check (`@cache.clear if @cache.size > 10_000`), LruRedux, ActiveSupport::Cache with a size
    PHP: unset old keys / reset when count() passes a limit, or a PSR-6 cache with a TTL

Suppress: # leakwatch: ignore[unbounded-cache]
"#;

const EXPLAIN_LISTENER: &str = r#"listener-leak: listener added repeatedly and never removed

Adding a listener to a long-lived emitter (module-level object, window,
document, process, a static field) from code that runs repeatedly (a request
handler, a component, a callback) adds one more listener, and keeps its closure
alive, on every run. React `useEffect` callbacks that subscribe without
returning a cleanup leak once per mount.

Flagged when no removal (off/removeListener/removeEventListener/unsubscribe/
disconnect/removeHandler/removeXListener) on the same target exists in the file
and the listener is not a `once` listener.

Leaky:
    app.get('/x', (req, res) => { process.on('exit', () => flush(req)); });
    useEffect(() => { window.addEventListener('resize', onResize); }, []);
    def handler(request): logger.addHandler(logging.FileHandler(path))

    def index = ActiveSupport::Notifications.subscribe("sql.active_record") { |*a| log(a) }  # Ruby
    public function handle(Job $job) { $this->events->listen('mail.sent', fn ($e) => $job->ack()); }  # PHP

Accepted fixes:
    emitter.once(...) / { once: true }
    useEffect(() => { window.addEventListener('resize', f);
                      return () => window.removeEventListener('resize', f); }, []);
    register once at startup, or remove it when done.
    Ruby: subscribe once in an initializer, or `ActiveSupport::Notifications.subscribed(cb, name) { ... }`
    PHP: register in a service provider / subscriber; `removeListener` when the job ends

Suppress: // leakwatch: ignore[listener-leak]
"#;

const EXPLAIN_ACCUMULATOR: &str = r#"global-accumulator: module-level collection that only grows

A module-level list, array, set or map that functions only ever add to
(append/push/add/set/put) and that nothing removes from, clears, slices or
bounds grows for the life of the process.

Not flagged: collections filled by registration functions (names containing
register/setup/install/init) or only while the module loads (JS: in an
iteration at load, or a function only the top level calls), collections
passed to other code (they may be drained there), and deques with maxlen.

Leaky:
    EVENTS = []
    def on_request(req): EVENTS.append(req.path)

    var seen = []; func handle(id string) { seen = append(seen, id) }

    @@clicks = []; def track = @@clicks << params[:target]      # Ruby
    array_push($GLOBALS['requests'], $req['path']);              # PHP worker

Accepted fixes:
    EVENTS = collections.deque(maxlen=1000)
    if len(EVENTS) > 1000: del EVENTS[:500]
    drain it: batch = EVENTS[:]; EVENTS.clear()
    Ruby: `@@last.shift if @@last.size > 100`; PHP: `array_shift` past a bound, or reset per job

Suppress: # leakwatch: ignore[global-accumulator]
"#;

const EXPLAIN_CLOSURE: &str = r#"closure-capture: long-lived closure keeps a large object alive

A closure that lives long (an interval callback, a long timeout) keeps every
variable it mentions alive. When it only needs one field of a large argument
it still pins the whole object. The chained `originalThing` pattern (a
function replaces a global object with a new one holding closures, while a
sibling closure references the previous one) links every generation
together so none is ever freed.

Leaky:
    function track(req) { setInterval(() => report(req.url), 1000); }
    var theThing = null;
    function replace() {
        var originalThing = theThing;
        var unused = function () { if (originalThing) {} };
        theThing = { longStr: new Array(1e6).join('*'), someMethod() {} };
    }

    rows = CSV.read(path); define_method(:row_count) { rows.size }   # Ruby: pins every row
    $this->events->on('done', function () use (&$rows) { ... });       # PHP: pins the array

Accepted fixes:
    function track(req) { const url = req.url; setInterval(() => report(url), 1000); }
    null the captured variable (originalThing = null) at the end of replace().
    Ruby: `count = rows.size; define_method(:row_count) { count }`
    PHP: `$n = count($rows); ... function () use ($n) { ... }`

Suppress: // leakwatch: ignore[closure-capture]
"#;

const EXPLAIN_RESULTS: &str = r#"unbounded-results: whole table or unbounded result set loaded into memory

Loading every row of a table into memory works in development and exhausts
memory in production as the table grows.

Flagged: Django querysets iterated whole (`for x in M.objects.all()`,
`list(M.objects.filter(...))`) instead of `.iterator()` or slicing;
`fetchall()` / `Query` / `executeQuery` on a literal SELECT with no LIMIT;
`findAll()` without a limit (Sequelize, Spring Data), `find().toArray()`
without `.limit()`, JPA `getResultList()` without `setMaxResults`, GORM
`Find` without `Limit`. Catalog queries (information_schema, pg_catalog,
sqlite_master) and aggregates are not flagged.

Leaky:
    for order in Order.objects.all(): ...
    cur.execute("SELECT * FROM events"); rows = cur.fetchall()

    Invoice.all.each { |i| i.recalculate! }                      # Ruby
    $users = User::all();  $pdo->query('SELECT * FROM orders')->fetchAll();   # PHP

Accepted fixes:
    for order in Order.objects.all().iterator(chunk_size=2000): ...
    cur.execute("SELECT * FROM events LIMIT 1000"), or iterate the cursor
    Model.findAll({ limit: 100 }), query.setMaxResults(100), db.Limit(100).Find(&xs)
    Ruby: `Invoice.find_each(batch_size: 500) { ... }`
    PHP: `User::chunk(500, fn ($users) => ...)`, `foreach (User::lazy() as $u)`, LIMIT

Suppress: # leakwatch: ignore[unbounded-results]
"#;

const EXPLAIN_TASK: &str = r#"unstoppable-task: goroutine, thread or interval with no way to stop

A goroutine or thread started from code that runs repeatedly, whose body loops
forever with no exit (no return, no break, no ctx.Done(), no stop event), is
never collected: one more per call. `setInterval` whose handle is dropped can
never be cleared. An executor created per call and never shut down keeps its
threads.

Leaky:
    func handle(w http.ResponseWriter, r *http.Request) {
        go func() { for { process(<-jobs) } }()
    }
    def view(request): threading.Thread(target=poll_forever).start()
    function start() { setInterval(tick, 1000); }
    ExecutorService ex = Executors.newFixedThreadPool(4);  // never shutdown()

    def start = Thread.new { loop { work(queue.pop) } }           # Ruby, per call
    go(function () { while (true) { Co::sleep(5); ping(); } });   # PHP Swoole, per request

Accepted fixes:
    go func() { for { select { case <-ctx.Done(): return; case j := <-jobs: process(j) } } }()
    while not stop.is_set(): ...
    const id = setInterval(tick, 1000); ... clearInterval(id);
    try { ... } finally { ex.shutdown(); }
    Ruby: `Thread.new { until @stopped; ...; end }` and stop it; PHP: loop on a channel or flag closed with the request

Suppress: // leakwatch: ignore[unstoppable-task]
"#;

const EXPLAIN_CONNECTION: &str = r#"unreleased-connection: connection, cursor or response not released on every path

Database connections, pool checkouts, `sql.Rows`, HTTP response bodies and
JDBC connections/statements/result sets hold sockets, buffers and server-side
state until released. Python: `with psycopg2.connect() as conn` and
`with sqlite3.connect()` end the transaction but do NOT close the connection.

Leaky:
    conn = psycopg2.connect(dsn); cur = conn.cursor(); cur.execute(q)
    rows, err := db.Query("SELECT id FROM t WHERE x = $1", x)   // no rows.Close()
    resp, err := http.Get(url)                                  // no resp.Body.Close()
    const client = await pool.connect();                        // no client.release()
    Connection c = ds.getConnection();                          // not in try-with-resources

    conn = PG.connect(dbname: "shop")                            # Ruby: never conn.close
    $ch = curl_init($url); curl_exec($ch);                       # PHP worker: no curl_close

Accepted fixes:
    with contextlib.closing(psycopg2.connect(dsn)) as conn: ...
    defer rows.Close(); defer resp.Body.Close()
    try { ... } finally { client.release(); }
    try (Connection c = ds.getConnection()) { ... }
    Ruby: `PG.connect(...)` in begin/ensure with `conn.close`, or a pool's `with`
    PHP: `curl_close($ch)` in `finally`

Suppress: // leakwatch: ignore[unreleased-connection]
"#;

const EXPLAIN_RESOURCE: &str = r#"unclosed-resource: file or socket not closed on every path

Files and sockets opened without `with`, `finally`, `defer Close()` or
try-with-resources leak a descriptor (and its buffers) whenever the close is
missing or skipped by an exception. `defer f.Close()` inside a loop defers every
close to the end of the function: all files stay open until then.

Leaky:
    f = open(path); data = f.read()
    f, err := os.Open(p)               // no f.Close()
    for _, p := range paths { f, _ := os.Open(p); defer f.Close() }
    const fd = fs.openSync(p, 'r');    // no fs.closeSync(fd)
    BufferedReader r = new BufferedReader(new FileReader(p));

    f = File.open(path); f.read                                  # Ruby, no block
    $fh = fopen($job->path, 'r');                                # PHP worker, no fclose

Accepted fixes:
    with open(path) as f: data = f.read()
    defer f.Close() right after the error check (outside loops: use a helper func)
    try { ... } finally { fs.closeSync(fd); }
    try (BufferedReader r = Files.newBufferedReader(p)) { ... }
    Ruby: `File.open(path) { |f| f.read }`, `File.read(path)`
    PHP: `try { ... } finally { fclose($fh); }`

Suppress: # leakwatch: ignore[unclosed-resource]
"#;

const EXPLAIN_TIMER: &str = r#"uncleared-timer: timer or ticker never cleared or stopped

An interval stored in a variable or field but never cleared runs (and keeps its
closure) forever; a timeout started in a React effect fires after unmount.
In Go (before 1.23), `time.Tick` outside main and `time.NewTicker` without
`Stop()` are never garbage-collected. A java.util.Timer or scheduled executor
created per call keeps a thread.

Leaky:
    this.timer = setInterval(poll, 1000);        // no clearInterval(this.timer)
    useEffect(() => { const id = setTimeout(f, 500); }, []);
    for range time.Tick(time.Second) { ... }     // in a handler
    t := time.NewTicker(d)                       // no t.Stop()

    $this->pings[$fd] = Swoole\Timer::tick(30000, fn () => $this->ping($fd));  # PHP: never cleared
    @timer = Concurrent::TimerTask.execute { poll }               # Ruby: never shutdown

Accepted fixes:
    useEffect(() => { const id = setInterval(f, 1000); return () => clearInterval(id); }, []);
    t := time.NewTicker(d); defer t.Stop()
    timer.cancel() / scheduler.shutdown() in finally or close()
    PHP: `Timer::clear($id)` / `$loop->cancelTimer($t)` on close; Ruby: `@timer.shutdown`

Suppress: // leakwatch: ignore[uncleared-timer]
"#;

const EXPLAIN_GLOBAL: &str = r#"accidental-global: assignment creates an accidental global variable

In sloppy-mode JavaScript (no "use strict", not an ES module), assigning to a
name that is declared nowhere creates a property of the global object that is
never freed; `this.x = ...` in a plain function called without `new` does the
same. Checked in .js/.jsx/.cjs files that have no import/export and no
"use strict" directive.

Leaky:
    function handle(req) { buffer = req.body; }
    function setup() { this.items = []; }       // called as setup()

Accepted fixes:
    function handle(req) { const buffer = req.body; }
    "use strict"; or ES modules, where this is an error instead of a leak.

Configure known globals: [check.rules.accidental-global] globals = ["jQuery"]
Suppress: // leakwatch: ignore[accidental-global]
"#;

const EXPLAIN_LIMIT: &str = r#"memory-limit-missing: container, service or unit with no memory limit

Without a memory limit a leak is not contained: it grows until the node or
host runs short, and the kernel's OOM killer picks a victim, possibly another
service. With a limit, only the leaking container or unit is killed and
restarted. Checked on Kubernetes workloads (Deployments, StatefulSets,
DaemonSets, Jobs, CronJobs, Pods; sidecars included, a LimitRange default in
the same file counts), docker-compose services and systemd application
services (a language runtime or application server in ExecStart; system
daemons are not asked). Init containers and one-shot compose tasks are not
flagged.

Leaky:
    containers:
      - name: api
        image: registry.example.com/api:1.4
        resources:
          requests: {cpu: 500m}

    services:
      web:
        image: app:1.0
        restart: unless-stopped

    [Service]
    ExecStart=/usr/bin/java -jar /opt/app.jar

Accepted fixes:
    resources: {limits: {memory: 1Gi}, requests: {memory: 768Mi}}
    mem_limit: 1g   (or deploy.resources.limits.memory: 1g)
    MemoryMax=1G and MemoryHigh=900M in [Service]

Suppress: # leakwatch: ignore[memory-limit-missing]
"#;

const EXPLAIN_HEAP: &str = r#"heap-cap-mismatch: runtime heap cap missing or not inside the memory limit

A garbage-collected runtime only collects hard near its own heap cap. When
the cap is at or above the container's memory limit, the kernel kills the
process first: an OOM kill with no OutOfMemoryError, no heap dump, no stack
trace. Read from the command, args and environment (JAVA_TOOL_OPTIONS,
JDK_JAVA_OPTIONS, JAVA_OPTS, _JAVA_OPTIONS, NODE_OPTIONS, GOMEMLIMIT) of
Kubernetes containers, compose services, Dockerfiles (ENV, ENTRYPOINT, CMD)
and systemd units, with real unit arithmetic (Mi, Gi, M, G, k, m, MiB...).

Flagged: JVM -Xmx (or -XX:MaxHeapSize) at or above the limit;
-XX:MaxRAMPercentage >= 100; a JDK 8 image older than 8u191 (not
container-aware) with no heap flag; Node --max-old-space-size (MiB) at or
above the limit; GOMEMLIMIT at or above the limit. A missing GOMEMLIMIT is
not a finding.

Leaky:
    args: ["-Xmx3g", "-jar", "app.jar"]          # limits.memory: 2Gi
    env: [{name: NODE_OPTIONS, value: "--max-old-space-size=4096"}]   # limit 2Gi
    FROM openjdk:8u181-jre                       # and no -Xmx
    ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage=100"

Accepted fixes:
    -XX:MaxRAMPercentage=75 (follows the limit), or -Xmx1536m under a 2Gi limit
    --max-old-space-size=1536 under a 2Gi limit; GOMEMLIMIT=1800MiB under 2Gi
    FROM eclipse-temurin:8u402-b06-jre (or 17) with -XX:MaxRAMPercentage=75

Suppress: # leakwatch: ignore[heap-cap-mismatch]
"#;

const EXPLAIN_RECYCLE: &str = r#"workers-not-recycled: long-lived workers never recycled

Pre-forking servers can replace a worker after N requests or when it grows
past a size: a slow leak (in the application, a C extension, a library) then
costs nothing. Without it every worker grows until the OOM killer ends it,
dropping in-flight requests.

Flagged: gunicorn without max_requests (command line, GUNICORN_CMD_ARGS,
gunicorn.conf.py; not judged when -c names a config elsewhere); uWSGI without
max-requests / reload-on-rss / max-worker-lifetime; a Celery worker without
--max-tasks-per-child / --max-memory-per-child; a PHP-FPM pool without
pm.max_requests (or 0); PM2 apps without max_memory_restart; clustered Puma
without puma_worker_killer; Unicorn without unicorn-worker-killer.

Leaky:
    command: ["gunicorn", "-w", "4", "app:app"]
    [uwsgi]
    module = app:app
    pm = dynamic           ; no pm.max_requests

Accepted fixes:
    gunicorn --max-requests 1000 --max-requests-jitter 100 app:app
    GUNICORN_CMD_ARGS="--max-requests 1000"
    max-requests = 1000 / reload-on-rss = 512 in [uwsgi]
    celery -A proj worker --max-tasks-per-child 100
    pm.max_requests = 500;  max_memory_restart: "400M"

Suppress: # leakwatch: ignore[workers-not-recycled]
"#;

const EXPLAIN_RESTART: &str = r#"no-restart-policy: daemon with no restart policy

Crash-only operation: a leaking service is OOM-killed and comes back. That
needs a restart policy. Flagged: long-running compose services with no
`restart` (or `restart: "no"` on a server), systemd application services
with no Restart= (or Restart=no), a bare Pod that serves with
restartPolicy: Never. One-shot tasks (Jobs, CronJobs, migrations, seeds,
Type=oneshot units) are fine without one.

Leaky:
    services:
      api:
        image: api:1.2
        ports: ["8080:8080"]
    [Service]
    ExecStart=/usr/bin/node /srv/app/server.js

Accepted fixes:
    restart: unless-stopped
    Restart=on-failure and RestartSec=2

Suppress: # leakwatch: ignore[no-restart-policy]
"#;

const EXPLAIN_PROBE: &str = r#"no-liveness-probe: long-running container with no liveness probe

Without a liveness probe (Kubernetes) or healthcheck (compose) nothing
restarts a leaking service gracefully: it runs until the OOM killer ends it
and drops its in-flight work. `leakwatch probe` is an exec probe that fails
only when the container leaks and will reach its memory limit soon (default
15 minutes): plateaus, GC saw-teeth, warm-up and bursts never fail it, so it
is safe as a liveness probe (docs/crash-only.md). Jobs, CronJobs, init
containers and sidecars without ports are not flagged.

Leaky:
    containers:
      - name: api
        image: api:1.4
        ports: [{containerPort: 8080}]

Accepted fixes:
    livenessProbe:
      exec:
        command: ["/leakwatch/leakwatch", "probe", "--threshold", "15m"]
      periodSeconds: 10
      failureThreshold: 3
    healthcheck:
      test: ["CMD", "/leakwatch/leakwatch", "probe", "--threshold", "15m"]
      interval: 10s
      retries: 3

Suppress: # leakwatch: ignore[no-liveness-probe]
"#;
