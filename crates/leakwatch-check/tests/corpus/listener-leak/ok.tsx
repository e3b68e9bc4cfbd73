import React, { useEffect, useState } from 'react';
import { store } from './store';

export function WindowWidth() {
  const [width, setWidth] = useState(window.innerWidth);
  useEffect(() => {
    const onResize = () => setWidth(window.innerWidth);
    window.addEventListener('resize', onResize);
    return () => window.removeEventListener('resize', onResize);
  }, []);
  return <span>{width}</span>;
}

export function Ticker({ feed }: { feed: Feed }) {
  const [price, setPrice] = useState(0);
  useEffect(() => {
    const onTick = (p: number) => setPrice(p);
    feed.on('tick', onTick);
    return () => {
      feed.off('tick', onTick);
    };
  }, [feed]);
  return <b>{price}</b>;
}

export function Cart() {
  const [items, setItems] = useState(store.get().items);
  useEffect(() => store.subscribe(() => setItems(store.get().items)), []);
  return <ul>{items.map((i) => <li key={i.id}>{i.name}</li>)}</ul>;
}

export function Badge() {
  const [n, setN] = useState(0);
  useEffect(() => {
    const unsubscribe = store.subscribe(() => setN(store.get().count));
    return unsubscribe;
  }, []);
  return <i>{n}</i>;
}
