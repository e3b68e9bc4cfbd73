<?php
require __DIR__ . '/Profiles.php';
$profile = Profiles::get($_GET['user_id']);
?>
<html><body><?= htmlspecialchars($profile->name) ?></body></html>
