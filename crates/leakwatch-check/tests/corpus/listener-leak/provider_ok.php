<?php
// A Laravel service provider is made once per application (under Octane,
// once per worker), and its register() and boot() run once: so do the
// private and protected methods only they call, and the listeners those
// register are registered once.
namespace App\Providers;

use Illuminate\Support\Facades\Event;
use Illuminate\Support\ServiceProvider;

final class TracingServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->listenForRequests();
    }

    public function boot(): void
    {
        $this->listenForJobs();
    }

    private function listenForRequests(): void
    {
        Event::listen(RequestReceived::class, function (RequestReceived $event): void {
            $request = $event->request;
            Cache::put($request->path(), microtime(true));
        });
    }

    protected function listenForJobs(): void
    {
        $this->listenForFailures();
        $this->app['events']->listen(JobProcessing::class, function (JobProcessing $event): void {
            $jobId = $event->job->getJobId();
            Log::info("processing {$jobId}");
        });
    }

    private function listenForFailures(): void
    {
        Event::listen(JobFailed::class, function (JobFailed $event): void {
            $jobId = $event->job->getJobId();
            Log::warning("failed {$jobId}");
        });
    }
}
