import React, { useEffect, useState } from 'react';
import { store } from './store';

export function WindowWidth() {
  const [width, setWidth] = useState(window.innerWidth);
  useEffect(() => {
    window.addEventListener('resize', () => setWidth(window.innerWidth)); // expect: listener-leak
  }, []);
  return <span>{width}</span>;
}

export function Ticker({ feed }: { feed: Feed }) {
  const [price, setPrice] = useState(0);
  useEffect(() => {
    feed.on('tick', (p: number) => setPrice(p)); // expect: listener-leak
  }, [feed]);
  return <b>{price}</b>;
}

export function Cart() {
  const [items, setItems] = useState(store.get().items);
  useEffect(() => {
    store.subscribe(() => setItems(store.get().items)); // expect: listener-leak
  }, []);
  return <ul>{items.map((i) => <li key={i.id}>{i.name}</li>)}</ul>;
}
