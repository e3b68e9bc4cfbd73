<?php

namespace Database\Seeders;

use App\Models\Permission;
use App\Models\Role;
use Illuminate\Database\Seeder;

// Resets the permissions and gives the administrators all of them: the
// table holds exactly the literal list the seeder has just written.
class RolePermissionSeeder extends Seeder
{
    public function run(): void
    {
        Permission::truncate();
        $permissions = [
            'view_dashboard',
            'view_patients',
            'edit_patients',
            'view_billing',
        ];
        foreach ($permissions as $name) {
            Permission::firstOrCreate(['name' => $name]);
        }
        $admin = Role::firstOrCreate(['name' => 'Admin']);
        $admin->permissions()->sync(Permission::all());
    }
}
