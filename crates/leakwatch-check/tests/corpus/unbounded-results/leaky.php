<?php
// Whole tables loaded in a worker.
final class NightlyReport
{
    public function handle(PDO $pdo): array
    {
        $users = User::all(); // expect: unbounded-results
        $rows = $pdo->query('SELECT * FROM orders')->fetchAll(); // expect: unbounded-results
        $stmt = $pdo->prepare("SELECT id, total FROM invoices WHERE status = 'open'");
        $stmt->execute();
        $open = $stmt->fetchAll(); // expect: unbounded-results
        $logs = DB::table('audit_log')->get(); // expect: unbounded-results
        return [$users, $rows, $open, $logs];
    }
}
