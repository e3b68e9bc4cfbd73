<?php
final class Worker
{
    public function handle(): array
    {
        $queues = QueueRegistry::all();
        $users = User::all(); // expect: unbounded-results
        return [$queues, $users];
    }
}
