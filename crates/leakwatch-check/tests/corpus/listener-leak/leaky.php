<?php
// Listeners added to long-lived dispatchers on every job.
final class SendInvoiceJob
{
    public function handle(Invoice $invoice): void
    {
        $this->events->listen('mail.sent', function ($e) use ($invoice) { // expect: listener-leak
            $invoice->markSent();
        });
        Event::listen(OrderShipped::class, fn ($e) => $this->log($e)); // expect: listener-leak
        $this->mailer->send($invoice);
    }
}

while ($msg = $consumer->receive()) {
    $dispatcher->addListener('kernel.terminate', [$msg, 'ack']); // expect: listener-leak
}

// ... but a listener added inside the command's own loop is added per job.
final class DrainCommand extends Command
{
    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        while ($job = $this->queue->pop()) {
            $this->events->listen('job.done', fn () => $this->log($job)); // expect: listener-leak
            $job->run();
        }
        return 0;
    }
}

// The same shape capturing the request it handles: one listener per request.
final class AuditFirewall
{
    public function __construct(private EventDispatcherInterface $eventDispatcher)
    {
    }

    public function handle(Request $request): void
    {
        $this->eventDispatcher->addListener(LogoutEvent::class, function (LogoutEvent $event) use ($request) { // expect: listener-leak
            $this->audit($request, $event);
        });
    }
}

// The same shape on the server's own stream: the stream handed in is
// stored, but the listener goes on the long-lived one, once per client.
final class JsonRpcServer
{
    public function handle(DuplexStreamInterface $client): void
    {
        $this->client = $client;
        $this->stream->on('data', function ($data) use ($client) { // expect: listener-leak
            $client->write($data);
        });
    }
}

// A facade named in full, and a dispatcher a class hands out: both outlive
// the job.
final class NotifyJob
{
    public function handle(array $job): void
    {
        \Illuminate\Support\Facades\Event::listen('mail.sent', function ($e) use ($job) { // expect: listener-leak
            $this->audit($job, $e);
        });
        App::make('events')->listen('mail.failed', function ($e) use ($job) { // expect: listener-leak
            $this->retry($job, $e);
        });
    }
}
