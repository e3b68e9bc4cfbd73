<?php
// The same call on a model of the application: every saved filter row,
// loaded per job.
use App\Models\Filter;

final class GrantLoader
{
    public function handle(array $roles): array
    {
        $saved = [];
        foreach ($roles as $role) {
            $rows = Filter::all(); // expect: unbounded-results
            $saved[$role->name] = count($rows);
        }
        return $saved;
    }
}
