<?php
final class QueueRegistry
{
    public static function all(): array
    {
        return ['default', 'mail'];
    }
}
