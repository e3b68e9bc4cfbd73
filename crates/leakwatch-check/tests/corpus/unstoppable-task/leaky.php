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
