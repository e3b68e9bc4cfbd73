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
