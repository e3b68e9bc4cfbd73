<?php
class Engine
{
    public function clearCache()
    {
        Template::$objectCache = array();
    }
}
