<?php

namespace Http;

/**
 * A container for user input values such as $_GET, $_POST and $_COOKIE:
 * a library's class, beside a namespace without braces. Its doc comment
 * names the request globals; nothing in this tree reads them or serves a
 * page.
 */
final class InputBag
{
    private array $values = [];

    public function get(string $key): ?string
    {
        return $this->values[$key] ?? null;
    }
}
