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

// Keyed by a value's type: bounded by the classes the program has.
final class Hydrator
{
    private static array $fields = [];

    public function fields(object $o): array
    {
        return self::$fields[get_debug_type($o)] ??= $this->reflect($o);
    }
}

// Configuration APIs: the stored value comes from the caller's other
// arguments, not computed from the key on a miss.
abstract class Provider
{
    protected static array $groups = [];

    protected function addGroup($group, $paths)
    {
        if (! array_key_exists($group, static::$groups)) {
            static::$groups[$group] = [];
        }
        static::$groups[$group] = array_merge(static::$groups[$group], $paths);
    }
}

final class Menu
{
    private static array $items = [];

    public static function add(string $section, string $label, string $url): void
    {
        self::$items[$section] ??= [];
        self::$items[$section][] = ['label' => $label, 'url' => $url];
    }

    public static function section(string $section): array
    {
        return self::$items[$section] ?? [];
    }
}

// The content of the file the key names: bounded by the files that exist.
function asset_manifest(string $manifestPath): array
{
    static $manifests = [];
    if (! isset($manifests[$manifestPath])) {
        $manifests[$manifestPath] = json_decode(file_get_contents($manifestPath), true);
    }
    return $manifests[$manifestPath];
}

final class ConfigFiles
{
    private static array $loaded = [];

    public static function load(string $file): array
    {
        return self::$loaded[$file] ??= require $file;
    }
}

// Keyed by a class constant (one value per subclass) and by an encoding
// name: bounded by the code.
abstract class AsymmetricKeyFormats
{
    private static array $invisible = [];
    private static array $encoders = [];

    public static function addFormat(string $fullname): void
    {
        if (!isset(self::$invisible[static::ALGORITHM])) {
            self::$invisible[static::ALGORITHM] = strtolower($fullname);
        }
    }

    public function encoder(): object
    {
        return self::$encoders[$this->encoding] ?? (self::$encoders[$this->encoding] = new Base64Encoder());
    }
}

// Keyed by a method name and valued by that method's reflection: bounded by
// the methods the class declares.
trait CallableMaker
{
    private static array $reflectionMethods = [];

    private function callableFromInstanceMethod(string $method): callable
    {
        if (!isset(self::$reflectionMethods[$method])) {
            self::$reflectionMethods[$method] = (new \ReflectionClass(self::class))->getMethod($method);
        }
        return self::$reflectionMethods[$method]->getClosure($this);
    }
}
