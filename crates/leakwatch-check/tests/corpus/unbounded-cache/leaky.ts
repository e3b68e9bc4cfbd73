import { fetchConfig, Config } from './config';

const configCache = new Map<string, Config>();

export async function configFor(tenant: string): Promise<Config> {
  const hit = configCache.get(tenant);
  if (hit) return hit;
  const cfg = await fetchConfig(tenant);
  configCache.set(tenant, cfg); // expect: unbounded-cache
  return cfg;
}
