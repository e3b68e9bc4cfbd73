<?php
// Another class's store of the same name is emptied; not Template's.
class Engine
{
    public static $objectCache = array();

    public function clearCache()
    {
        self::$objectCache = array();
    }
}
