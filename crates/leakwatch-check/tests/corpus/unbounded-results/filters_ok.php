<?php
// A filter library's `all()` is a conjunction of rules, built per object
// checked: a value, no query.
use ipl\Stdlib\Filter;

final class GrantLoader
{
    public function handle(array $roles): Filter\Chain
    {
        $any = Filter::any();
        foreach ($roles as $role) {
            $roleFilter = Filter::all();
            $roleFilter->add(Filter::equal('role', $role->name));
            $any->add($roleFilter);
        }
        return $any;
    }
}
