<?php
// The same helpers where nothing says they run once: in a class that is no
// service provider, also called per request, called from a callback boot()
// hands on (run on every resolution), or public (any code may call it).
namespace App\Providers;

use Illuminate\Support\Facades\Event;
use Illuminate\Support\ServiceProvider;

final class TracingMiddleware
{
    public function boot(): void
    {
        $this->listenForRequests();
    }

    private function listenForRequests(): void
    {
        Event::listen(RequestReceived::class, function (RequestReceived $event): void { // expect: listener-leak
            $request = $event->request;
            Cache::put($request->path(), microtime(true));
        });
    }
}

final class TracingServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        $this->listenForRequests();
        $this->app->resolving(Tracer::class, function (Tracer $tracer): void {
            $this->listenForSpans();
        });
        $this->listenForJobs();
    }

    public function trace(Request $request): void
    {
        $this->listenForRequests();
    }

    private function listenForRequests(): void
    {
        Event::listen(RequestReceived::class, function (RequestReceived $event): void { // expect: listener-leak
            $request = $event->request;
            Cache::put($request->path(), microtime(true));
        });
    }

    private function listenForSpans(): void
    {
        Event::listen(SpanStarted::class, function (SpanStarted $event): void { // expect: listener-leak
            $spanId = $event->span->getId();
            Log::info("span {$spanId}");
        });
    }

    public function listenForJobs(): void
    {
        Event::listen(JobFailed::class, function (JobFailed $event): void { // expect: listener-leak
            $jobId = $event->job->getJobId();
            Log::warning("failed {$jobId}");
        });
    }
}
