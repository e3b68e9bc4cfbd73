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

// A directory walk reads its listing to the end, once: each handle is freed
// when the next entry's replaces it, and no loop waits for a next job.
final class TranslationScanner
{
    public function findLocaleDirs(string $base): array
    {
        $found = [];
        $dh = opendir($base);
        while ($entry = readdir($dh)) {
            $sub = opendir($base . '/' . $entry);
            while ($name = readdir($sub)) {
                if ($name === 'locale') {
                    $found[] = $base . '/' . $entry;
                    break;
                }
            }
        }
        closedir($dh);
        return $found;
    }
}

// A finite loop's handles, never closed: PHP frees each when the next
// replaces it (a resource goes with its last reference), and the last when
// the method returns, so no more than one is open and none outlives the job.
final class CsvExporter
{
    public function handle(array $files): void
    {
        foreach ($files as $file) {
            $out = fopen('/tmp/' . $file . '.csv', 'w');
            fputcsv($out, ['id', 'total']);
        }
    }
}
