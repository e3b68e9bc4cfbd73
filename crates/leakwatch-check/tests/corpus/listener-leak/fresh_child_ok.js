// A launcher: once the asset build exits, start the server and listen for
// its exit. The listener goes on the child just spawned, not on a
// long-lived emitter.
import { spawn } from 'child_process';

let server = null;
const build = spawn('npm', ['run', 'build'], { stdio: 'inherit' });

build.on('exit', (code) => {
  server = spawn('php', ['artisan', 'serve'], { stdio: 'inherit' });
  server.on('exit', (serverCode) => process.exit(serverCode ?? 0));
});
