<?php
// Caches that grow for the life of a long-running worker.
final class ExchangeRates
{
    private static array $rates = [];

    public function rate(string $pair): float
    {
        if (isset(self::$rates[$pair])) {
            return self::$rates[$pair];
        }
        self::$rates[$pair] = $this->client->fetch($pair); // expect: unbounded-cache
        return self::$rates[$pair];
    }
}

function avatar_url(string $email): string
{
    static $memo = [];
    if (!isset($memo[$email])) {
        $memo[$email] = 'https://img/' . md5(strtolower($email)); // expect: unbounded-cache
    }
    return $memo[$email];
}

// A registration-looking name on a memo: the value is computed from the key.
final class Thumbnails
{
    private static array $made = [];

    public static function addSize(string $url, int $width): string
    {
        return self::$made[$url] ??= self::resize($url, $width); // expect: unbounded-cache
    }
}

// Keyed by a value of the request, even when read from a property.
final class TokenCache
{
    private static array $byToken = [];

    public function lookup(): ?array
    {
        return self::$byToken[$this->token] ?? (self::$byToken[$this->token] = $this->fetch()); // expect: unbounded-cache
    }
}

// The pair comes from the request.
final class QuoteController
{
    public function show(Request $request): JsonResponse
    {
        return new JsonResponse($this->rates->rate($request->query->get('pair')));
    }
}

// Room made under each session id, then filled: one entry per session for
// the life of the worker (not a file's name).
final class SessionCache
{
    private static array $bySession = [];

    public function onRequest($request)
    {
        $id = $request->sessionId;
        if (!isset(self::$bySession[$id])) {
            self::$bySession[$id] = []; // expect: unbounded-cache
        }
        self::$bySession[$id]['seen'] = time();
    }
}

// A memo keyed by what each job carries, called from a queue worker's loop.
function shipping_quote($country, $weight)
{
    static $quotes = [];
    if (!isset($quotes[$country][$weight])) {
        $quotes[$country][$weight] = compute_quote($country, $weight); // expect: unbounded-cache
    }
    return $quotes[$country][$weight];
}

while (true) {
    $job = $queue->pop();
    shipping_quote($job->country, $job->weight);
}

// The same counts, but the event is named by the message: one entry per
// distinct kind any client sends.
class Relay
{
    private static $counts = [];

    public function handle($message)
    {
        $kind = $message->kind;
        $this->count($kind, $message);
    }

    private function count($event, ...$context)
    {
        self::$counts[$event] = (self::$counts[$event] ?? 0) + 1; // expect: unbounded-cache
    }
}

// Each user's session object made on first use and kept by the class that
// hands them out, keyed by the user id a request carries.
final class Sessions
{
    private static array $byUser = [];

    public static function forUser(int $userId): Session
    {
        if (!isset(self::$byUser[$userId])) {
            self::$byUser[$userId] = new Session($userId); // expect: unbounded-cache
        }
        return self::$byUser[$userId];
    }
}
