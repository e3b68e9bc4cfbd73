<?php
// Look-alikes: timers cleared on close.
final class Presence
{
    public function handle(int $fd): void
    {
        $id = Swoole\Timer::tick(30000, fn () => $this->ping($fd));
        $this->conns[$fd]->onClose(fn () => Swoole\Timer::clear($id));
    }

    public function watch(LoopInterface $loop, Connection $conn): void
    {
        $timer = $loop->addPeriodicTimer(5, fn () => $conn->ping());
        $conn->on('close', fn () => $loop->cancelTimer($timer));
    }
}

// A daemon's database component: started once on the loop it is handed,
// its timers refresh its state for the life of the daemon.
final class DaemonDb
{
    public function run(LoopInterface $loop): void
    {
        $this->refreshTimer = $loop->addPeriodicTimer(3, function () {
            $this->refreshMyState();
        });
    }
}
