<?php
// Look-alikes: reset per job, drained, capped, or local.
$batch = [];
while ($job = $queue->pop()) {
    $batch[] = $job->id;
    if (count($batch) >= 100) {
        flush_batch($batch);
        $batch = [];
    }
}

final class Metrics
{
    private static array $timings = [];

    public static function record(float $ms): void
    {
        self::$timings[] = $ms;
        if (count(self::$timings) > 500) {
            array_shift(self::$timings);
        }
    }
}

function collect(array $rows): array
{
    $ids = [];
    foreach ($rows as $r) {
        $ids[] = $r['id'];
    }
    return $ids;
}
