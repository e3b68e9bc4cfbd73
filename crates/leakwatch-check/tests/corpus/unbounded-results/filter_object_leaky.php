<?php
// The same filter objects made with constants or nothing, a filter that
// only matches a pattern (a name search), and one the tree does not define:
// nothing says the rows are bounded.
final class UserStatusFilter extends BaseFilter
{
    public function apply()
    {
        $this->query->eq('users.is_active', $this->value);
        return $this;
    }
}

final class UserNameFilter extends BaseFilter
{
    public function apply()
    {
        $this->query->beginOr()
            ->ilike('username', '%'.$this->value.'%')
            ->ilike('name', '%'.$this->value.'%')
            ->closeOr();
        return $this;
    }
}

final class UserFinder
{
    public function active()
    {
        return $this->userQuery->withFilter(new UserStatusFilter(UserModel::ACTIVE))->findAll(); // expect: unbounded-results
    }

    public function everyone()
    {
        return $this->userQuery->withFilter(new UserStatusFilter())->findAll(); // expect: unbounded-results
    }

    public function search($input)
    {
        return $this->userQuery->withFilter(new UserNameFilter($input))->findAll(); // expect: unbounded-results
    }

    public function inGroup($group_id)
    {
        return $this->userQuery->withFilter(new GroupMemberFilter($group_id))->findAll(); // expect: unbounded-results
    }
}
