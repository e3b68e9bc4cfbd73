import { useEffect, useState } from "react";

const seen = new Set<string>();

export function Clock({ id }: { id: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000); // expect: uncleared-timer
    window.addEventListener("focus", () => setNow(Date.now())); // expect: listener-leak
  }, []);
  useEffect(() => {
    const onBlur = () => setNow(0);
    window.addEventListener("blur", onBlur);
    return () => window.removeEventListener("blur", onBlur);
  }, []);
  seen.add(id); // expect: global-accumulator
  return <span>{now}</span>;
}
