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
