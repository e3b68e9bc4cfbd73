<?php
// A web application's profile cache, keyed by the user a request names:
// PHP frees a request's statics when it ends, and this tree serves pages
// one request at a time (index.php) and runs nothing for long.
class Profiles
{
    private static $byUser = [];

    public static function get($user_id)
    {
        if (isset(self::$byUser[$user_id])) {
            return self::$byUser[$user_id];
        }
        return self::$byUser[$user_id] = load_profile($user_id);
    }
}
