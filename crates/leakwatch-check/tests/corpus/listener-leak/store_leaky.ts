// The same store made per widget (and exported for others to make more):
// one more window listener per widget, never removed.
import { ref } from 'vue';

export class UrlWatcher {
  readonly url = ref<URL | null>(null);

  constructor() {
    window.addEventListener('hashchange', (event) => { // expect: listener-leak
      this.url.value = new URL(event.newURL);
    });
  }
}

export function mountWidget(el: HTMLElement): UrlWatcher {
  const watcher = new UrlWatcher();
  el.dataset.ready = '1';
  return watcher;
}
