<?php
// Files opened in a worker loop and never closed.
while ($job = $queue->pop()) {
    $fh = fopen($job->path, 'r'); // expect: unclosed-resource
    $header = fgetcsv($fh);
    import_rows($header);
}

final class Exporter
{
    public function handle(array $files): void
    {
        foreach ($files as $file) {
            $out = fopen('/tmp/' . $file . '.csv', 'w'); // expect: unclosed-resource
            fputcsv($out, ['id', 'total']);
        }
    }
}

// The same walk, run for each job a worker takes: the job loop is a worker
// loop, whatever the inner loop reads.
while ($job = $queue->reserve()) {
    $dh = opendir($job->dir); // expect: unclosed-resource
    while ($entry = readdir($dh)) {
        index_entry($job, $entry);
    }
}
