<?php
// Look-alikes: closed in the loop, or opened once before it.
$db = mysqli_connect('db', 'app', getenv('DB_PASS'), 'shop');
while ($job = $queue->pop()) {
    mysqli_query($db, "UPDATE orders SET state = 'done' WHERE id = " . (int) $job->id);
}

function fetch_all_urls(array $urls): void
{
    foreach ($urls as $url) {
        $ch = curl_init($url);
        try {
            curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
            store(curl_exec($ch));
        } finally {
            curl_close($ch);
        }
    }
}

function one(string $url): string
{
    $ch = curl_init($url);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    return curl_exec($ch);
}

// One handle per URL of a finite list, never closed: each is freed when the
// next replaces it, the last when the function returns.
function probe_all(array $urls): void
{
    foreach ($urls as $url) {
        $ch = curl_init($url);
        curl_setopt($ch, CURLOPT_NOBODY, true);
        note(curl_exec($ch));
    }
}
