import React, { useEffect, useState } from 'react';

export function Clock() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  return <time>{new Date(now).toISOString()}</time>;
}

export function Toast({ onHide }: { onHide: () => void }) {
  useEffect(() => {
    const t = setTimeout(() => onHide(), 5000);
    return () => clearTimeout(t);
  }, [onHide]);
  return <div className="toast" />;
}

export function Button({ onClick }: { onClick: () => void }) {
  return <button onClick={() => setTimeout(onClick, 0)}>go</button>;
}
