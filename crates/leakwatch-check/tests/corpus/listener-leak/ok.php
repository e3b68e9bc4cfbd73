<?php
// Look-alikes: registered at boot, removed, or on a per-job dispatcher.
final class EventServiceProvider
{
    public function boot(): void
    {
        Event::listen(OrderShipped::class, SendShipmentNotification::class);
    }
}

final class SendInvoiceJob
{
    public function __construct(private Dispatcher $events)
    {
        $this->events->listen('mail.failed', [$this, 'onFail']);
    }

    public function handle(Invoice $invoice): void
    {
        $listener = fn ($e) => $invoice->markSent();
        $this->events->addListener('mail.sent', $listener);
        $this->mailer->send($invoice);
        $this->events->removeListener('mail.sent', $listener);
    }

    public function local(): void
    {
        $d = new EventDispatcher();
        $d->addListener('x', fn () => null);
        $d->dispatch(new Event());
    }
}

// A registration API: the callback is its caller's, registered once at boot.
final class QueueManager
{
    public function before(callable $callback): void
    {
        $this->app['events']->listen(JobProcessing::class, $callback);
    }
}

// A console command runs once per process: listeners added before its loop
// are added once.
final class ConsumeCommand extends Command
{
    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        $this->eventDispatcher->addSubscriber(new StopWorkerOnTimeLimitListener(3600));
        $this->worker->run();
        return 0;
    }
}

// A registration API: the listener wraps the handler its caller passes.
final class LogoutFirewall
{
    public function __construct(private EventDispatcherInterface $eventDispatcher)
    {
    }

    public function addHandler(LogoutHandlerInterface $handler): void
    {
        $this->eventDispatcher->addListener(LogoutEvent::class, function (LogoutEvent $event) use ($handler) {
            $handler->logout($event->getRequest(), $event->getResponse());
        });
    }
}

// Attached to the stream handed in: one listener per connection, on the
// connection itself, gone when it closes.
final class JsonRpcConnection
{
    public function handle(DuplexStreamInterface $connection): void
    {
        $this->connection = $connection;
        $this->connection->on('data', function ($data) {
            $this->handlePacket(Packet::decode($data));
        });
    }
}
