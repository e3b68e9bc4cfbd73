<?php
// Look-alikes: roles an administrator adds from a form, and a fixed audit
// row created on every login: both tables grow.

class RoleSeeder extends Seeder
{
    public function run()
    {
        foreach (['admin', 'doctor'] as $name) {
            Role::firstOrCreate(['name' => $name]);
        }
    }
}

class RoleController extends Controller
{
    public function store(Request $request)
    {
        Role::create(['name' => $request->input('name')]);
        return redirect('/roles');
    }

    public function index()
    {
        return view('roles.index', ['roles' => Role::all()]); // expect: unbounded-results
    }
}

class LoginController extends Controller
{
    public function login(Request $request)
    {
        AuditLog::create(['event' => 'login']);
        return view('audit', ['entries' => AuditLog::all()]); // expect: unbounded-results
    }
}
