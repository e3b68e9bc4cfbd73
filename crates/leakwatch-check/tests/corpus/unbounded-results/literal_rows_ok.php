<?php
// The permissions table holds only the names the seeder makes from its
// literal list, by key, and a fixed row a test makes: reading all of it
// reads that list.

class PermissionSeeder extends Seeder
{
    public function run()
    {
        foreach (['view_reports', 'edit_reports', 'manage_users'] as $name) {
            Permission::firstOrCreate(['name' => $name]);
        }
    }
}

class PermissionTest extends TestCase
{
    public function testListing()
    {
        Permission::create(['name' => 'view_reports']);
        $this->get('/permissions')->assertOk();
    }
}

class PermissionController extends Controller
{
    public function index()
    {
        return view('permissions.index', ['permissions' => Permission::all()]);
    }
}
