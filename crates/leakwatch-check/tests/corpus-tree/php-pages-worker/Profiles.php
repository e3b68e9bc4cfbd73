<?php
// The same cache in a tree that also runs a worker for long (worker.php):
// there the class lives as long as the worker, and grows with every user
// its jobs name.
class Profiles
{
    private static $byUser = [];

    public static function get($user_id)
    {
        if (isset(self::$byUser[$user_id])) {
            return self::$byUser[$user_id];
        }
        return self::$byUser[$user_id] = load_profile($user_id); // expect: unbounded-cache
    }
}
