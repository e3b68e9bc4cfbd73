<?php
// Look-alikes: chunked, limited, key lookups, streamed.
final class NightlyReport
{
    public function handle(PDO $pdo, int $id): array
    {
        User::chunk(500, fn ($users) => $this->export($users));
        foreach (User::lazy() as $user) {
            $this->export([$user]);
        }
        $stmt = $pdo->prepare('SELECT * FROM orders WHERE id = ?');
        $stmt->execute([$id]);
        $one = $stmt->fetchAll();
        $recent = $pdo->query('SELECT * FROM orders ORDER BY id DESC LIMIT 50')->fetchAll();
        $open = DB::table('audit_log')->where('level', 'error')->limit(100)->get();
        $items = collect([1, 2])->all();
        return [$one, $recent, $open, $items];
    }
}

// A class of this code's own with its own static `all` (a list of queues
// kept in Redis), not an ORM model.
final class QueueList
{
    public static function all(): array
    {
        return ['default', 'mail'];
    }
}

final class QueueMonitor
{
    public function sizes(): array
    {
        return array_map(fn ($q) => strlen($q), QueueList::all());
    }
}
