interface Sample {
  name: string;
  value: number;
}

const samples: Sample[] = [];

export function observe(name: string, value: number): void {
  samples.push({ name, value }); // expect: global-accumulator
}
