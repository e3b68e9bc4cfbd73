<?php
// Look-alike: a report run once from cron. The loop ends with the rows of
// its query; it is not a worker taking jobs, so what it collects is freed
// when the script ends.
final class MonthlyReport
{
    private static array $totals = [];

    public static function run(PDO $pdo): float
    {
        $stmt = $pdo->query('SELECT total FROM orders WHERE month = 11');
        while ($row = $stmt->fetch()) {
            self::$totals[] = (float) $row['total'];
        }
        return array_sum(self::$totals);
    }
}

// Look-alike: an import script's top level, keyed by ids, walking a query's
// rows once: the array dies with the run.
$versions = [];
foreach ($bugzilla->select('SELECT value, program FROM versions') as $row) {
    $queueID = array_search($row['program'], $queues);
    $versions[$queueID][$row['value']] = $driver->addVersion($queueID, $row['value']);
}
