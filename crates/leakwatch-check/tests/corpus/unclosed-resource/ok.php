<?php
// Look-alikes: closed in the loop, returned, or opened outside loops.
while ($job = $queue->pop()) {
    $fh = fopen($job->path, 'r');
    try {
        import_rows(fgetcsv($fh));
    } finally {
        fclose($fh);
    }
}

function open_log(string $path)
{
    $fh = fopen($path, 'a');
    return $fh;
}

final class Exporter
{
    public function handle(array $files): void
    {
        foreach ($files as $file) {
            $out = fopen('/tmp/' . $file . '.csv', 'w');
            $this->streams[] = $out;
        }
    }
}
