<?php
// A mail digest worker started by systemd: it runs until stopped.
require __DIR__ . '/Profiles.php';
while (true) {
    foreach (pending_digests() as $digest) {
        send_digest(Profiles::get($digest->user_id), $digest);
    }
    sleep(60);
}
