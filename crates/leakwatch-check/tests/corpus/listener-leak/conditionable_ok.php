<?php
// Laravel's Conditionable never runs the callback of `when(false, ...)` or
// `unless(true, ...)`: a block kept in the code but switched off, under the
// method's own name or an alias the trait's use gives it.
use Illuminate\Support\Facades\Event;
use Illuminate\Support\Traits\Conditionable;

final class RequestTracing
{
    use Conditionable {
        Conditionable::when as whenever;
    }

    public function handle(Request $request): void
    {
        $this->when(false, function () use ($request) {
            Event::listen(RequestReceived::class, fn () => $this->trace($request->ip()));
        });
        $this->unless(true, function () use ($request) {
            Event::listen(RequestTerminated::class, fn () => $this->flush($request->id()));
        });
        $this->whenever(false, function () use ($request): void {
            $this->whenever(running_in_octane(), static function () use ($request): void {
                Event::listen(RequestReceived::class, static function () use ($request): void {
                    Cache::put($request->id(), microtime(true));
                });
            });
            view('welcome', ['users' => User::query()->get()])->fragment('user-list');
        });
    }
}
