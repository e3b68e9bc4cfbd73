<?php
$http = new Swoole\Http\Server('127.0.0.1', 9501);
$sessions = [];

$http->on('request', function ($req, $resp) use (&$sessions) {
    $sessions[$req->fd] = $req->cookie; // expect: global-accumulator
    $payload = file_get_contents('php://input');
    Swoole\Timer::after(1000, function () use ($payload) { // expect: closure-capture
        audit(strlen($payload));
    });
    $small = strlen($payload);
    Swoole\Timer::after(1000, function () use ($small) { audit($small); });
    Swoole\Timer::tick(5000, fn () => ping($req->fd)); // expect: unstoppable-task
    $resp->end('ok');
});

$http->on('close', function ($server, $fd) use (&$sessions) {
    unset($sessions[$fd]);
});
