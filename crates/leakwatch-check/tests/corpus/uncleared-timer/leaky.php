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
