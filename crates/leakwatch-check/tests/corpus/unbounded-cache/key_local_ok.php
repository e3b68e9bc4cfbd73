<?php
// Static caches keyed by a local that names a class, or by a local made
// only from constants: one entry per class the code declares, or one.
final class Hydrators
{
    private static array $byClass = [];

    public static function for(object $entity): Hydrator
    {
        $class = get_class($entity);
        if (!isset(self::$byClass[$class])) {
            self::$byClass[$class] = new Hydrator(new \ReflectionClass($entity));
        }
        return self::$byClass[$class];
    }
}

final class Formats
{
    private static array $cache = [];

    public static function dateFormat(bool $withTime): string
    {
        $key = 'date';
        if (!isset(self::$cache[$key])) {
            self::$cache[$key] = $withTime ? 'Y-m-d H:i' : 'Y-m-d';
        }
        return self::$cache[$key];
    }
}
