export class MetricsReporter {
  private handle?: ReturnType<typeof setInterval>;

  constructor(private readonly endpoint: string) {}

  begin(): void {
    this.handle = setInterval(() => this.flush(), 10_000);
  }

  end(): void {
    clearInterval(this.handle);
  }

  private flush(): void {
    void fetch(this.endpoint);
  }
}
