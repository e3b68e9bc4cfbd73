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
