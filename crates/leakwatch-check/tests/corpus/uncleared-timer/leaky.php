<?php
// Timers kept but never cleared.
final class Presence
{
    public function handle(int $fd): void
    {
        $this->pings[$fd] = Swoole\Timer::tick(30000, fn () => $this->ping($fd)); // expect: uncleared-timer
    }

    public function watch(LoopInterface $loop, Connection $conn): void
    {
        $timer = $loop->addPeriodicTimer(5, fn () => $conn->ping()); // expect: uncleared-timer
        $conn->on('data', fn ($d) => $this->read($d));
    }
}

// The same refresh per watched host: one more timer per call, never cancelled.
final class HostWatch
{
    public function watchHost(LoopInterface $loop, string $host): void
    {
        $this->timers[] = $loop->addPeriodicTimer(3, fn () => $this->refresh($host)); // expect: uncleared-timer
    }
}
