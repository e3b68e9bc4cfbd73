<?php
// Look-alikes: bounded, reset per job, or per instance.
final class ExchangeRates
{
    private static array $rates = [];

    public function rate(string $pair): float
    {
        if (count(self::$rates) > 1000) {
            self::$rates = [];
        }
        return self::$rates[$pair] ??= $this->client->fetch($pair);
    }
}

final class Resolver
{
    private array $seen = [];

    public function resolve(string $id): string
    {
        return $this->seen[$id] ??= $this->load($id);
    }
}

function routes(): array
{
    static $routes = [];
    if (!$routes) {
        $routes['home'] = '/';
    }
    return $routes;
}

// Per-class caches are bounded by the code, not by traffic; registration
// APIs store what their callers hand them.
abstract class Model
{
    protected static array $mutatorCache = [];
    protected static array $skipCallbacks = [];

    public function mutators(): array
    {
        return static::$mutatorCache[static::class] ??= $this->scanMutators();
    }

    public static function skipWhen(\Closure $callback): void
    {
        static::$skipCallbacks[] = $callback;
    }
}
