<?php
// A query builder (PicoDb, as Kanboard uses it) whose findAll() runs the
// conditions chained before it: rows of one project or task, a list of
// ids the caller holds, or a page.
final class ColumnStore
{
    public function getAll($project_id)
    {
        return $this->db->table('columns')
            ->eq('project_id', $project_id)
            ->asc('position')
            ->findAll();
    }

    public function getByIds(array $ids)
    {
        return $this->db->table('tags')->in('id', $ids)->findAll();
    }

    public function recent()
    {
        return $this->db->table('events')->desc('id')->limit(50)->findAll();
    }

    public function getAllByStatus($projectId, $status)
    {
        $query = $this->db->table('swimlanes')
            ->eq('project_id', $projectId)
            ->eq('is_active', $status);
        $query->asc('position');
        return $query->findAll();
    }

    public function getMembers($group_id)
    {
        return $this->getQuery($group_id)->findAll();
    }

    public function getQuery($group_id)
    {
        return $this->db->table('group_has_users')->eq('group_id', $group_id);
    }

    public function page($offset)
    {
        $this->query->offset($offset);
        $this->query->limit(30);
        return $this->query->findAll();
    }
}
