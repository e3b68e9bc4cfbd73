<?php
// Files opened in a worker loop and never closed.
while ($job = $queue->pop()) {
    $fh = fopen($job->path, 'r'); // expect: unclosed-resource
    $header = fgetcsv($fh);
    import_rows($header);
}

// Each job's files, opened in the worker's job loop.
while ($job = $queue->reserve()) {
    foreach ($job->files as $file) {
        $out = fopen('/tmp/' . $file . '.csv', 'w'); // expect: unclosed-resource
        fputcsv($out, ['id', 'total']);
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
