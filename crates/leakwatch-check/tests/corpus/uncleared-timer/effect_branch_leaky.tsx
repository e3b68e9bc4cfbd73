import React, { useEffect, useState } from 'react';

// The timeout starts in one branch; the cleanup returned from the other
// branch never runs when it does.
export function Appointments({ clinicId, search }: { clinicId?: number; search: string }) {
  const [rows, setRows] = useState<string[]>([]);
  useEffect(() => {
    if (clinicId) {
      setTimeout(() => fetch(`/api/a?clinic=${clinicId}&q=${search}`).then(() => setRows([search])), 500); // expect: uncleared-timer
    } else {
      const t = setTimeout(() => setRows([]), 10);
      return () => clearTimeout(t);
    }
  }, [clinicId, search]);
  return <ul>{rows.map((r) => <li key={r}>{r}</li>)}</ul>;
}

// A cleanup returned by a nested function is not the effect's cleanup.
export function Toast({ onHide }: { onHide: () => void }) {
  useEffect(() => {
    const t = setTimeout(() => onHide(), 5000); // expect: uncleared-timer
    const later = () => {
      return () => clearTimeout(t);
    };
    later();
  }, [onHide]);
  return <div className="toast" />;
}
