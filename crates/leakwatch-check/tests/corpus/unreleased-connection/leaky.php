<?php
// Connections opened in a worker loop and never closed.
while ($job = $queue->pop()) {
    $db = mysqli_connect('db', 'app', getenv('DB_PASS'), 'shop'); // expect: unreleased-connection
    mysqli_query($db, "UPDATE orders SET state = 'done' WHERE id = " . (int) $job->id);
}

function fetch_all_urls(array $urls): void
{
    foreach ($urls as $url) {
        $ch = curl_init($url); // expect: unreleased-connection
        curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
        store(curl_exec($ch));
    }
}
