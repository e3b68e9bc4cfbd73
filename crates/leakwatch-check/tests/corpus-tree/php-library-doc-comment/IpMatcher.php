<?php

namespace Http;

// A library's static cache keyed by the request's address (as Symfony's
// IpUtils before it was capped): in a long-running worker it keeps one
// entry per client address.
final class IpMatcher
{
    private static array $checked = [];

    public static function matches(string $requestIp, string $subnet): bool
    {
        $cacheKey = $requestIp . '-' . $subnet;
        if (isset(self::$checked[$cacheKey])) {
            return self::$checked[$cacheKey];
        }
        return self::$checked[$cacheKey] = str_starts_with($requestIp, strstr($subnet, '/', true)); // expect: unbounded-cache
    }
}
