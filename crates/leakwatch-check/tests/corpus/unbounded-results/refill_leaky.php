<?php

namespace Database\Seeders;

use App\Models\Patient;
use App\Models\Permission;
use App\Models\Role;
use Illuminate\Database\Seeder;

class RolePermissionSeeder extends Seeder
{
    // No truncate: rows the application makes (PermissionController
    // below) are there too.
    public function run(): void
    {
        foreach (['view_dashboard', 'view_patients'] as $name) {
            Permission::firstOrCreate(['name' => $name]);
        }
        $admin = Role::firstOrCreate(['name' => 'Admin']);
        $admin->permissions()->sync(Permission::all()); // expect: unbounded-results
    }

    // Emptied, but refilled from a file: as many rows as the file has.
    public function import(string $csv): void
    {
        Patient::truncate();
        foreach (file($csv) as $line) {
            Patient::create(['name' => trim($line)]);
        }
        $all = Patient::all(); // expect: unbounded-results
        echo count($all);
    }

    // The literal list fills another table; this one, which the
    // application also fills (RoleController below), is read whole.
    public function roles(): void
    {
        Role::truncate();
        foreach (['Admin', 'Doctor'] as $name) {
            Permission::firstOrCreate(['name' => $name]);
        }
        $roles = Role::all(); // expect: unbounded-results
        echo count($roles);
    }
}

class PermissionController
{
    public function store($request)
    {
        Permission::create(['name' => $request->input('name')]);
    }
}

class RoleController
{
    public function store($request)
    {
        Role::create(['name' => $request->input('name')]);
    }
}
