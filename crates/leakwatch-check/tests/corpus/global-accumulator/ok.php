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

// Filled once, while still empty: the signal names, on first use.
final class SignalNames
{
    public function nameOf(int $signo): string
    {
        static $names = [];
        if (!$names && extension_loaded('pcntl')) {
            foreach (get_defined_constants(true)['pcntl'] ?? [] as $name => $value) {
                $names[$value] = $name;
            }
        }
        return $names[$signo] ?? (string) $signo;
    }
}
