import React, { useEffect, useState } from 'react';

export function Clock() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000); // expect: uncleared-timer
  }, []);
  return <time>{new Date(now).toISOString()}</time>;
}

export function Toast({ onHide }: { onHide: () => void }) {
  useEffect(() => {
    setTimeout(() => onHide(), 5000); // expect: uncleared-timer
  }, [onHide]);
  return <div className="toast" />;
}
