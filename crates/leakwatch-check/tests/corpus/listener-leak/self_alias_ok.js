// Vue components (the options API, in ES5 as a built bundle ships them)
// whose `mounted` calls the component `self` or `that` (`var self =
// this`) and adds a listener through it; the teardown removes the same
// handler through `this`.
export const KanbanCard = {
  mounted() {
    var self = this;
    self.fetchItems();
    document.addEventListener('click', self.onClickOutside);
  },
  beforeUnmount() {
    document.removeEventListener('click', this.onClickOutside);
  },
  methods: {
    onClickOutside(event) {
      if (!this.$el.contains(event.target)) this.open = false;
    },
    fetchItems() {},
  },
};

export const ResizablePanel = {
  mounted: function () {
    var that = this;
    window.addEventListener('resize', that.onResize);
  },
  beforeDestroy: function () {
    window.removeEventListener('resize', this.onResize);
  },
  methods: {
    onResize: function () {
      this.width = this.$el.offsetWidth;
    },
  },
};
