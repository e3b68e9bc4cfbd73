<?php
// A static cache whose key is built in a local first, from the caller's
// values (as Symfony's IpUtils::checkIp4 did before it was capped): one
// entry per distinct pair of addresses, for the worker's life.
final class IpMatcher
{
    private static array $checked = [];

    public static function matches(string $requestIp, string $subnet): bool
    {
        $cacheKey = $requestIp . '-' . $subnet;
        if (isset(self::$checked[$cacheKey])) {
            return self::$checked[$cacheKey];
        }
        return self::$checked[$cacheKey] = self::inSubnet($requestIp, $subnet); // expect: unbounded-cache
    }

    private static function inSubnet(string $ip, string $subnet): bool
    {
        return str_starts_with($ip, strstr($subnet, '/', true));
    }
}
