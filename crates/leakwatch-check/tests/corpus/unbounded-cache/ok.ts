import { fetchConfig, Config } from './config';

const configCache = new Map<string, { cfg: Config; at: number }>();
const TTL_MS = 60_000;

export async function configFor(tenant: string): Promise<Config> {
  const hit = configCache.get(tenant);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.cfg;
  configCache.delete(tenant);
  const cfg = await fetchConfig(tenant);
  configCache.set(tenant, { cfg, at: Date.now() });
  return cfg;
}
