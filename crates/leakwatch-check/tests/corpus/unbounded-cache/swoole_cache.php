<?php
// A Swoole worker: one rendered fragment per distinct page name a client
// asks for, kept for the life of the worker.
final class Renderer
{
    private static array $fragments = [];

    public function fragment(string $slug): string
    {
        return self::$fragments[$slug] ??= $this->render($slug); // expect: unbounded-cache
    }
}

$renderer = new Renderer();
$server = new Swoole\Http\Server('0.0.0.0', 9501);
$server->on('request', function ($req, $resp) use ($renderer) {
    $resp->end($renderer->fragment($req->get['page'] ?? 'home'));
});
