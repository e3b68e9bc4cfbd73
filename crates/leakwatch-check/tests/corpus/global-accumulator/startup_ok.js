// A development launcher: `run` is called twice as the script loads, so
// `processes` holds two children, then the script waits for them.
import { spawn } from 'child_process';

const processes = [];

const run = (cmd, args) => {
  const p = spawn(cmd, args, { stdio: 'inherit' });
  processes.push(p);
  return p;
};

const shutdown = () => {
  for (const p of processes) p.kill();
  process.exit(0);
};

process.on('SIGINT', shutdown);
run('php', ['artisan', 'serve']);
run('npm', ['run', 'dev']);
