<?php
// Closures registered long-term that capture big data.
final class ImportJob
{
    public function handle(string $path): void
    {
        $rows = json_decode(file_get_contents($path), true);
        $this->events->on('import.done', function () use (&$rows) { // expect: closure-capture, listener-leak
            $this->log(count($rows));
        });
        $body = $this->request->getContent();
        register_shutdown_function(function () use ($body) { // expect: closure-capture
            error_log(strlen($body));
        });
    }
}
