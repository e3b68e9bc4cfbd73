<?php
// Rows filtered through filter objects (Kanboard's, on PicoDb): each made
// with a value of the caller's, and the filter's own code filters the query
// on it, as `->eq('project_id', $project_id)` written in the chain would.
final class ProjectUserRoleProjectFilter extends BaseFilter
{
    public function apply()
    {
        $this->query->eq('project_has_users.project_id', $this->value);
        return $this;
    }
}

final class ProjectUserRoleUsernameFilter extends BaseFilter
{
    public function apply()
    {
        $this->query->join('users', 'id', 'user_id')->ilike('users.username', $this->value.'%');
        return $this;
    }
}

final class ProjectPermissionModel
{
    public function findUsernames($project_id, $input)
    {
        return $this->projectUserRoleQuery
            ->withFilter(new ProjectUserRoleProjectFilter($project_id))
            ->withFilter(new ProjectUserRoleUsernameFilter($input))
            ->getQuery()
            ->columns('users.id', 'users.username', 'users.name')
            ->findAll();
    }

    public function getMembers(array $project)
    {
        $query = $this->projectUserRoleQuery
            ->withFilter(new \Kanboard\Filter\ProjectUserRoleProjectFilter($project['id']));
        return $query->findAll();
    }
}
