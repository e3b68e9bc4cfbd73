<?php
// The same builder with no bound: a constant filter selects every active
// user, and the receiver was limited in another method, not here.
final class UserStore
{
    public function getActive()
    {
        return $this->db->table('users')->eq('is_active', 1)->findAll(); // expect: unbounded-results
    }

    public function setPage()
    {
        $this->query->limit(30);
    }

    public function members()
    {
        return $this->membersQuery()->findAll(); // expect: unbounded-results
    }

    public function membersQuery()
    {
        return $this->db->table('group_has_users')->asc('user_id');
    }

    public function everything()
    {
        $query = $this->db->table('tasks')->asc('id');
        return $query->findAll(); // expect: unbounded-results
    }
}
