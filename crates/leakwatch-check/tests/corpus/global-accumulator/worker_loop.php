<?php
// A queue worker runs for days: the loop takes one job after another, and
// the static array keeps a total from each of them.
final class OrderWorker
{
    private static array $totals = [];

    public static function run(Queue $queue): void
    {
        while ($order = $queue->reserve()) {
            self::$totals[] = (float) $order->total; // expect: global-accumulator
            $queue->delete($order);
        }
    }
}

// The same, one array per status: the nested append grows it just as well.
final class StatusWorker
{
    private static array $byStatus = [];

    public static function run(Queue $queue): void
    {
        while ($order = $queue->reserve()) {
            self::$byStatus[$order->status][] = $order->id; // expect: global-accumulator
            $queue->delete($order);
        }
    }
}
