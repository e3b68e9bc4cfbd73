<?php
// The same blocks switched on, or on a value known only when the code runs:
// the callback runs, and so does the default a skipped `when` falls back to.
use Illuminate\Support\Facades\Event;
use Illuminate\Support\Traits\Conditionable;

final class RequestTracing
{
    use Conditionable {
        Conditionable::when as whenever;
    }

    public function handle(Request $request): void
    {
        $this->when(true, function () use ($request) {
            Event::listen(RequestReceived::class, fn () => $this->trace($request->ip())); // expect: listener-leak
        });
        $this->when($this->tracing, function () use ($request) {
            Event::listen(RequestReceived::class, fn () => $this->trace($request->ip())); // expect: listener-leak
        });
        $this->unless(false, function () use ($request) {
            Event::listen(RequestTerminated::class, fn () => $this->flush($request->id())); // expect: listener-leak
        });
        $this->whenever(true, function () use ($request): void {
            view('welcome', ['users' => User::query()->get()])->fragment('user-list'); // expect: unbounded-results
        });
        $this->when(false, fn () => null, function () use ($request) {
            Event::listen(RequestReceived::class, fn () => $this->trace($request->ip())); // expect: listener-leak
        });
    }
}
