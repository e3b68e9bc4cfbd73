<?php
// Connections opened in a worker loop and never closed.
while ($job = $queue->pop()) {
    $db = mysqli_connect('db', 'app', getenv('DB_PASS'), 'shop'); // expect: unreleased-connection
    mysqli_query($db, "UPDATE orders SET state = 'done' WHERE id = " . (int) $job->id);
}

// A crawler's endless loop: one handle per URL it is handed.
for (;;) {
    $url = $frontier->pop();
    $ch = curl_init($url); // expect: unreleased-connection
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    store(curl_exec($ch));
}
