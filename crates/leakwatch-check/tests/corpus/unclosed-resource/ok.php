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
