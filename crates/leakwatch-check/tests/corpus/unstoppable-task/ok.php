<?php
// Look-alikes: loops that end, one coroutine at start, handles kept.
$server->on('request', function ($request, $response) {
    go(function () use ($request) {
        while (true) {
            if (!$this->server->exist($request->fd)) {
                break;
            }
            Co::sleep(5);
        }
    });
});

function bootstrap(): void
{
    go(function () {
        while (true) {
            Co::sleep(60);
            gc_collect_cycles();
        }
    });
}

final class Poller
{
    public function handle(LoopInterface $loop): void
    {
        $this->timer = $loop->addPeriodicTimer(1.0, fn () => $this->poll());
    }

    public function stop(LoopInterface $loop): void
    {
        $loop->cancelTimer($this->timer);
    }
}

// One step of an event loop named `tick` (Guzzle's CurlMultiHandler shape):
// a method call, not a periodic timer.
final class MultiHandler
{
    public function execute(): void
    {
        while ($this->handles) {
            $this->tick();
        }
    }
}

// A daemon component started on the loop it is handed: its heartbeat lives
// as long as the daemon.
final class MetricsFlusher
{
    public function start(LoopInterface $loop): void
    {
        $loop->addPeriodicTimer(60, fn () => $this->flush());
    }
}

// A timer that polls until the child exits, then cancels itself (ReactPHP's
// child-process shape).
final class ChildWatch
{
    public function handle(LoopInterface $loop, Process $process): void
    {
        $loop->addPeriodicTimer(0.1, function ($timer) use ($process, $loop) {
            if (!$process->isRunning()) {
                $loop->cancelTimer($timer);
                $process->close();
            }
        });
    }
}
