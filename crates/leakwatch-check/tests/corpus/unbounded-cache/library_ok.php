<?php
// Library stores whose growth is set by the library's users, with nothing
// in the tree growing them per request: a glyph-width memo keyed by
// characters, a listener registered per log channel (channels come from
// configuration), a memo of CSS property names.
final class Glyphs
{
    private static array $widths = [];

    public function width(string $char, int $size): float
    {
        if (!isset(self::$widths[$char])) {
            self::$widths[$char] = $this->metrics->advance($char) * $size;
        }
        return self::$widths[$char];
    }
}

final class Listeners
{
    public function boot(): void
    {
    }

    public function attachLogging(string $channel): void
    {
        $this->events->listen('log.' . $channel, fn ($e) => $this->write($channel, $e));
    }
}

final class Styles
{
    private static array $parsed = [];

    public function parse(string $property)
    {
        return self::$parsed[$property] ??= strtolower(trim($property));
    }
}

final class Languages
{
    private static array $names = [];

    // Keyed by a packed 15-bit language code: a closed domain, however
    // the stored value is named.
    public static function name(int $code): string
    {
        static $lookup = [];
        if (!isset($lookup[$code])) {
            $iso_language_id = chr(($code >> 10) + 0x60) . chr((($code >> 5) & 31) + 0x60);
            $lookup[$code] = self::$names[$iso_language_id] ?? $iso_language_id;
        }
        return $lookup[$code];
    }
}

final class Tools
{
    private static $executablePaths = [];

    public static function getExecutablePath($name)
    {
        if (array_key_exists($name, self::$executablePaths) === true) {
            return self::$executablePaths[$name];
        }
        $result = exec('which ' . escapeshellarg($name));
        self::$executablePaths[$name] = $result;
        return $result;
    }
}

// Every caller names the tool: the keys are these literals.
final class JshintSniff
{
    public function process($file, $stackPtr)
    {
        return Tools::getExecutablePath('jshint');
    }
}

// The formatted source of the file the key names, computed from
// file_get_contents in the function: bounded by the files that exist.
final class SourceRenderer
{
    private static $formattedSourceCache = [];

    private function loadFile(string $file): array
    {
        if (isset(self::$formattedSourceCache[$file])) {
            return self::$formattedSourceCache[$file];
        }
        $buffer = file_get_contents($file);
        $result = explode("\n", htmlspecialchars($buffer));
        self::$formattedSourceCache[$file] = $result;
        return $result;
    }

    public function handle($request)
    {
        return $this->loadFile($request->path);
    }
}

// Configuration read from the .ini file its name names: bounded by the
// files that exist.
final class AppConfig
{
    protected static $app = [];
    protected static $modules = [];

    public static function app($configname = 'config', $fromDisk = false)
    {
        if (! isset(self::$app[$configname]) || $fromDisk) {
            self::$app[$configname] = static::fromIni(static::resolvePath($configname . '.ini'));
        }
        return self::$app[$configname];
    }

    public static function module($modulename, $configname = 'config')
    {
        if (! isset(self::$modules[$modulename])) {
            self::$modules[$modulename] = array();
        }
        if (! isset(self::$modules[$modulename][$configname])) {
            self::$modules[$modulename][$configname] = static::fromIni(
                static::resolvePath('modules/' . $modulename . '/' . $configname . '.ini')
            );
        }
        return self::$modules[$modulename][$configname];
    }

    public function handle($request)
    {
        return self::module($request->module, $request->config);
    }
}

// Days in a month, memoized per year and month, used by a search for the
// next recurrence: a `do { ... } while (true)` that returns from inside is
// not a worker serving requests.
final class CalendarDays
{
    public static function inMonth($month, $year)
    {
        static $cache = array();
        if (!isset($cache[$year][$month])) {
            $cache[$year][$month] = (int) date('t', mktime(0, 0, 0, $month, 1, $year));
        }
        return $cache[$year][$month];
    }
}

final class MonthlyRecurrence
{
    public function next($start)
    {
        do {
            if (CalendarDays::inMonth($start->month, $start->year) >= $start->mday) {
                return $start;
            }
            $start->month += $this->interval;
        } while (true);
    }
}

// Counts by event name: every caller names the event with a literal, or a
// local chosen between literals, and passes data only in the other
// arguments.
class Notifier
{
    private static $counts = [];

    public function handle($message)
    {
        $this->count('received', $message);
        $level = $message->urgent ? 'urgent' : 'normal';
        $this->count($level);
    }

    private function count($event, ...$context)
    {
        self::$counts[$event] = (self::$counts[$event] ?? 0) + 1;
    }
}

// A class keeping its own instances, one per configured identity provider
// (a multiton): the providers come from configuration, not from requests.
final class IdentityProvider
{
    private static array $byEntityId = [];

    private function __construct(private string $entityId)
    {
    }

    public static function byEntityId(string $entityId): self
    {
        if (!isset(self::$byEntityId[$entityId])) {
            self::$byEntityId[$entityId] = new self($entityId);
        }
        return self::$byEntityId[$entityId];
    }
}
