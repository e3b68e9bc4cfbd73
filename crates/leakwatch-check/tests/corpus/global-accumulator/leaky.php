<?php
// Arrays that only grow in a queue worker.
$processed = [];
while ($job = $queue->pop()) {
    handle($job);
    $processed[] = $job->id; // expect: global-accumulator
}

final class Metrics
{
    private static array $timings = [];

    public static function record(float $ms): void
    {
        self::$timings[] = $ms; // expect: global-accumulator
    }
}

function remember_request(array $req): void
{
    array_push($GLOBALS['requests'], $req['path']); // expect: global-accumulator
}
$requests = [];

// An emptiness test of another variable does not bound this one.
final class Seen
{
    public function mark(string $id, array $batch): void
    {
        static $ids = [];
        if (!$batch) {
            $ids[$id] = true; // expect: global-accumulator
        }
    }
}

// Every request is timed into it.
final class TimingMiddleware implements MiddlewareInterface
{
    public function process(ServerRequestInterface $request, RequestHandlerInterface $handler): ResponseInterface
    {
        $start = microtime(true);
        $response = $handler->handle($request);
        Metrics::record(microtime(true) - $start);
        return $response;
    }
}
