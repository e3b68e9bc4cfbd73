<?php
// Closures registered long-term that capture big data.
final class ImportJob
{
    public function handle(string $path): void
    {
        $rows = json_decode(file_get_contents($path), true);
        $this->events->on('import.done', function () use (&$rows) { // expect: closure-capture, listener-leak
            $this->log(count($rows));
        });
        $body = $this->request->getContent();
        register_shutdown_function(function () use ($body) { // expect: closure-capture
            error_log(strlen($body));
        });
    }
}

// The same collector started by every job a worker handles.
final class ReportJob
{
    public function handle(string $outputFile): void
    {
        AuditCollector::collect($outputFile);
        $this->render();
    }
}

final class AuditCollector
{
    public static function collect(string $outputFile): void
    {
        $events = [];
        register_shutdown_function(function () use ($outputFile, &$events) { // expect: closure-capture
            file_put_contents($outputFile, serialize($events));
        });
    }
}

// The same capture registered on the server's event loop: the periodic
// timer, and every request's buffer it holds, outlives the request.
final class StreamingHandlerWithTicker
{
    public function handle(ServerRequestInterface $request, LoopInterface $loop): void
    {
        $chunks = $request->getBody()->getContents();
        $loop->addPeriodicTimer(60, function () use (&$chunks) { // expect: closure-capture, unstoppable-task
            $this->report(strlen($chunks));
        });
    }
}

// The same accessor with the registration above the guard: every call
// registers one more shutdown closure.
final class Profiler
{
    private static $instance;
    private static $samples = [];

    public static function get(): Profiler
    {
        $samples =& self::$samples;
        register_shutdown_function(function () use (&$samples) { // expect: closure-capture
            file_put_contents('/tmp/profile', serialize($samples));
        });
        if (self::$instance instanceof Profiler) {
            return self::$instance;
        }
        self::$instance = new Profiler();
        return self::$instance;
    }
}

final class ProfiledJob
{
    public function handle(array $job): void
    {
        Profiler::get()->sample($job);
    }
}
