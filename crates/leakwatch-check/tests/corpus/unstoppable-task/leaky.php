<?php
// Coroutines and timers started per request that never stop.
$server->on('request', function ($request, $response) {
    go(function () use ($request) { // expect: unstoppable-task
        while (true) {
            Co::sleep(5);
            heartbeat($request->fd);
        }
    });
    $response->end('ok');
});

final class Poller
{
    public function handle(LoopInterface $loop): void
    {
        $loop->addPeriodicTimer(1.0, fn () => $this->poll()); // expect: unstoppable-task
    }
}

// The same heartbeat per channel followed: one more per call.
final class ChannelFlusher
{
    public function follow(LoopInterface $loop, string $channel): void
    {
        $loop->addPeriodicTimer(60, fn () => $this->flush($channel)); // expect: unstoppable-task
    }
}

// The same poll cancelling a timer kept elsewhere, not the one it is
// handed: its own runs on.
final class ChildWatchOther
{
    public function handle(LoopInterface $loop, Process $process): void
    {
        $loop->addPeriodicTimer(0.1, function ($timer) use ($process, $loop) { // expect: unstoppable-task
            if (!$process->isRunning()) {
                $loop->cancelTimer($this->killTimer);
                $process->close();
            }
        });
    }
}
