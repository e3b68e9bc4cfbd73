export class MetricsReporter {
  constructor(private readonly endpoint: string) {}

  begin(): void {
    setInterval(() => this.flush(), 10_000); // expect: unstoppable-task
  }

  private flush(): void {
    void fetch(this.endpoint);
  }
}
