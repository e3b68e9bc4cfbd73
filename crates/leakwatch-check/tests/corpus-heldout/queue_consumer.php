<?php
// A RabbitMQ consumer run by supervisord.
final class OrderConsumer
{
    private static array $seenIds = [];
    private static array $byEmail = [];

    public function consume(Message $msg): void
    {
        self::$seenIds[] = $msg->id; // expect: global-accumulator
        $customer = self::$byEmail[$msg->email] ?? null;
        if ($customer === null) {
            self::$byEmail[$msg->email] = $this->repo->findByEmail($msg->email); // expect: unbounded-cache
        }
        $all = Order::all(); // expect: unbounded-results
        $page = Order::query()->where('customer', $msg->email)->limit(20)->get();
        $this->bus->on('order.saved', fn ($o) => $this->audit($o)); // expect: listener-leak
    }

    public function export(PDO $pdo): void
    {
        $stmt = $pdo->query("SELECT * FROM orders WHERE created_at > NOW() - INTERVAL 1 DAY");
        $rows = $stmt->fetchAll(); // expect: unbounded-results
        $one = $pdo->prepare('SELECT * FROM orders WHERE id = :id');
        $one->execute(['id' => 1]);
        $first = $one->fetchAll();
    }
}

while (true) {
    $msg = $channel->wait();
    $log = fopen('/var/log/consumer.log', 'a'); // expect: unclosed-resource
    fwrite($log, $msg->id . "\n");
    $tmp = fopen('php://temp', 'w+');
    fwrite($tmp, $msg->body);
    fclose($tmp);
}
