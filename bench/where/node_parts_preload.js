// Preloaded into the benchmark service by node_parts.sh: sets up the part MODE names.
const inspector = require('inspector');
const mode = process.env.MODE || 'none';
if (mode === 'open') inspector.open(0, '127.0.0.1');
if (mode === 'session' || mode.startsWith('sampling')) {
  const s = new inspector.Session();
  s.connect();
  if (mode.startsWith('sampling')) {
    s.post('HeapProfiler.startSampling', { samplingInterval: 32768 });
    if (mode === 'sampling_poll') {
      setInterval(() => s.post('HeapProfiler.getSamplingProfile', () => {}), 2000).unref();
    }
  }
  global.__keep = s;
}
