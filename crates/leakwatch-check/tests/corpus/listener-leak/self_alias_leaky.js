// Look-alikes of self_alias_ok.js: the alias is not `this`, or the
// teardown removes another handler.
import { store } from './store';

export const FilterBar = {
  mounted() {
    var self = store;
    document.addEventListener('click', self.onClickOutside); // expect: listener-leak
  },
  beforeUnmount() {
    document.removeEventListener('click', this.onClickOutside);
  },
};

export const KeyPanel = {
  mounted() {
    var self = this;
    document.addEventListener('keydown', self.onKey); // expect: listener-leak
  },
  beforeUnmount() {
    document.removeEventListener('keydown', this.onKeyUp);
  },
  methods: {
    onKey() {},
    onKeyUp() {},
  },
};
