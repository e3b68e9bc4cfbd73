<?php
// Look-alike: a server keeps each open connection under its user and drops
// it when the connection ends, so the nested array holds only what is open.
final class OpenConnections
{
    private static array $byUser = [];

    public static function serve(Server $server): void
    {
        while ($conn = $server->accept()) {
            self::$byUser[$conn->user][$conn->id] = $conn;
            $conn->onClose(function () use ($conn) {
                unset(self::$byUser[$conn->user][$conn->id]);
            });
        }
    }
}
