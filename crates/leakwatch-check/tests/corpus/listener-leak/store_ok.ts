// A store the module makes once and exports: its constructor, and the
// listener it adds to the window, run once per page.
import { ref } from 'vue';

class UrlStore {
  readonly url = ref<URL | null>(null);

  constructor() {
    window.addEventListener('hashchange', (event) => {
      this.url.value = new URL(event.newURL);
    });
  }
}

const instance = new UrlStore();
export default instance;

class SegmentsStore {
  constructor() {
    window.addEventListener('segmentsChanged', () => this.reload());
  }

  reload(): void {}
}

export const segments = new SegmentsStore();
