<?php
// A template object cache filled per render and emptied by the engine's
// clearCache(), in another file.
class Template
{
    public static $objectCache = array();

    public function handle($request)
    {
        self::$objectCache[$request->templateId] = $this; // expect: unbounded-cache
    }
}
