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
