<?php
// Look-alikes: capture small values, or by reference a counter.
final class ImportJob
{
    public function handle(string $path): void
    {
        $rows = json_decode(file_get_contents($path), true);
        $n = count($rows);
        $progress = new Emitter();
        $progress->on('import.done', function () use ($n) {
            $this->log($n);
        });
        $done = 0;
        $progress->on('row.done', function () use (&$done) {
            $done++;
        });
        $total = array_sum(array_map(fn ($r) => $r['amount'], $rows));
        usort($rows, function ($a, $b) use ($total) { return $a['amount'] <=> $b['amount']; });
    }
}

// A callback deferred to the next tick of the loop runs at once and is
// released (Amp's `Loop::defer`).
final class AsyncResponse
{
    public function start(array $request): void
    {
        $info = ['start_time' => microtime(true), 'body' => $request['body']];
        \Amp\Loop::defer(static function () use (&$info) {
            $info['total_time'] = microtime(true) - $info['start_time'];
        });
    }
}

// The subscription id is kept and unsubscribed when the token goes away.
final class CombinedToken
{
    private array $tokens = [];

    public function __construct(CancellationToken ...$tokens)
    {
        $payload = file_get_contents('php://input');
        foreach ($tokens as $token) {
            $id = $token->subscribe(static function ($e) use (&$payload) {
                $payload = null;
            });
            $this->tokens[] = [$token, $id];
        }
    }

    public function __destruct()
    {
        foreach ($this->tokens as [$token, $id]) {
            $token->unsubscribe($id);
        }
    }
}

// A test bootstrap's collector: registered once per run, from the top of
// the bootstrap file, never from a job or request.
final class DeprecationCollector
{
    public static function collect(string $outputFile): void
    {
        $deprecations = [];
        set_error_handler(function ($type, $msg) use (&$deprecations) {
            $deprecations[] = [$type, $msg];
            return true;
        });
        register_shutdown_function(function () use ($outputFile, &$deprecations) {
            file_put_contents($outputFile, serialize($deprecations));
        });
    }
}

if ($file = getenv('DEPRECATIONS_FILE')) {
    DeprecationCollector::collect($file);
}

// A listener on the request's own body stream: it goes with the stream,
// and the buffer it captures is that request's.
final class StreamingHandler
{
    public function handle(ServerRequestInterface $request): void
    {
        $body = $request->getBody();
        $chunks = [];
        $body->on('data', function ($data) use (&$chunks) {
            $chunks[] = $data;
        });
        $request->getBody()->on('close', function () use ($body, &$chunks) {
            $this->store($body, $chunks);
        });
    }
}

// A lazy singleton's accessor (ReactPHP's Loop::get()): the shutdown
// closure is registered once, as the process's one loop is made.
final class Loop
{
    private static $instance;
    private static $stopped = false;

    public static function get(): LoopInterface
    {
        if (self::$instance instanceof LoopInterface) {
            return self::$instance;
        }
        self::$instance = $loop = Factory::create();
        $stopped =& self::$stopped;
        register_shutdown_function(function () use ($loop, &$stopped) {
            if (!$stopped) {
                $loop->run();
            }
        });
        return self::$instance;
    }
}

final class TickJob
{
    public function handle(array $job): void
    {
        Loop::get()->futureTick(fn () => $this->run($job));
    }
}
