interface Sample {
  name: string;
  value: number;
}

let samples: Sample[] = [];

export function observe(name: string, value: number): void {
  samples.push({ name, value });
}

export function flush(): Sample[] {
  const out = samples;
  samples = [];
  return out;
}
